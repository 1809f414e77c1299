//! `atende`: parse the command line, run, print the error chain.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit`: 4 in the enum of mimalloc.h, in v3 (which
/// the `mimalloc` crate builds) as in v2.
const ARENA_EAGER_COMMIT: i32 = 4;

extern "C" {
    /// mimalloc's own setter (in the library the `mimalloc` crate links).
    fn mi_option_set(option: i32, value: std::ffi::c_long);
    /// The process's environment, `NAME=value` strings up to a null pointer.
    static environ: *const *const std::ffi::c_char;
}

/// Before anything is allocated (a constructor, before `main`): mimalloc commits its
/// memory on demand, so what is freed goes back to the system. Eagerly committed (its
/// default on Linux), memory freed after a burst stayed resident: filling 1,000,000
/// messages left 691-713 MB resident with the default page cache; committed on demand,
/// 659 MB, and 498 MB with `ATENDE_CACHE_MB=16` (`atende bench scale`, README).
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static COMMIT_ON_DEMAND: extern "C" fn() = {
    extern "C" fn commit_on_demand() {
        // SAFETY: `environ` is the loader's null-terminated array of C strings, read
        // without allocating (nothing may be allocated before the option is set); the
        // option takes any integer. No other thread exists yet.
        unsafe {
            let mut entry = environ;
            while !entry.is_null() && !(*entry).is_null() {
                let name = std::ffi::CStr::from_ptr(*entry).to_bytes();
                if name.starts_with(b"MIMALLOC_ARENA_EAGER_COMMIT=") {
                    return; // set by hand: the allocator reads it
                }
                entry = entry.add(1);
            }
            mi_option_set(ARENA_EAGER_COMMIT, 0);
        }
    }
    commit_on_demand
};

fn main() -> ExitCode {
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            eprintln!("atende: cannot read .env: {error}");
            return ExitCode::FAILURE;
        }
    }
    let cli = atende::config::Cli::parse();
    match atende::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("atende: {error:#}");
            ExitCode::FAILURE
        }
    }
}
