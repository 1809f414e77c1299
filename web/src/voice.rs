//! Voice notes: the browser records WebM with Opus (Chrome's MediaRecorder), WhatsApp
//! plays a voice note as Ogg with Opus. The Opus packets are moved from the one container
//! to the other as they are (no re-encoding): the WebM track's `OpusHead` (its codec
//! private data) heads the Ogg stream, then `OpusTags`, then one packet per WebM frame,
//! each page's granule position the samples (48 kHz) decoded so far (RFC 7845).
//!
//! The WebM is read here rather than with a demuxer crate: the one tried (matroska-demuxer)
//! allocates whatever size an element declares before reading it, so fifteen uploaded
//! bytes could ask for petabytes and abort the process. Every element below is a slice
//! of the upload, its declared size checked against the bytes that are there.

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

/// The Ogg stream's serial number (any; one stream per file).
const SERIAL: u32 = 0x6174_6e64;
/// Opus decodes at 48 kHz whatever the input rate.
const RATE: u64 = 48_000;

/// The Matroska element ids read here (IDs keep their length marker).
const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const CLUSTER: u32 = 0x1F43_B675;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_TYPE: u32 = 0x83;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
/// Matroska's track type of audio.
const AUDIO: u64 = 2;
/// How deep a segment and its clusters may nest (a real file: 2).
const MAX_DEPTH: usize = 4;

/// A voice note as WhatsApp takes it.
#[derive(Debug)]
pub struct VoiceNote {
    pub ogg: Vec<u8>,
    pub seconds: f64,
}

/// What a WebM file holds that a voice note needs.
#[derive(Default)]
struct Webm<'a> {
    tracks: Vec<Track<'a>>,
    /// The blocks (SimpleBlock or Block) in file order.
    blocks: Vec<&'a [u8]>,
}

/// A track entry's fields.
struct Track<'a> {
    number: u64,
    audio: bool,
    codec: &'a [u8],
    private: Option<&'a [u8]>,
}

/// `webm` as an Ogg/Opus file, or why it is not a WebM with an Opus track.
pub fn webm_to_ogg(webm: &[u8]) -> Result<VoiceNote, String> {
    let top = children(webm).map_err(|e| format!("not a WebM file: {e}"))?;
    if top.first().map(|(id, _)| *id) != Some(EBML) {
        return Err("not a WebM file: no EBML header".into());
    }
    let mut found = Webm::default();
    read_level(&top, &mut found, 0).map_err(|e| format!("not a WebM file: {e}"))?;
    let track = found
        .tracks
        .iter()
        .find(|t| t.audio && t.codec == b"A_OPUS")
        .ok_or("the WebM file has no Opus audio")?;
    let head = track
        .private
        .filter(|p| p.starts_with(b"OpusHead") && p.len() >= 19)
        .ok_or("the Opus track has no OpusHead")?
        .to_vec();
    let pre_skip = u64::from(u16::from_le_bytes([head[10], head[11]]));
    let mut packets = Vec::new();
    for block in found.blocks {
        let (number, frames) = frames(block).ok_or("a broken WebM block")?;
        if number == track.number {
            packets.extend(
                frames
                    .into_iter()
                    .filter(|f| !f.is_empty())
                    .map(<[u8]>::to_vec),
            );
        }
    }
    if packets.is_empty() {
        return Err("the recording is empty".into());
    }
    let mut out = Vec::new();
    let mut writer = PacketWriter::new(&mut out);
    let write = |w: &mut PacketWriter<&mut Vec<u8>>, data: Vec<u8>, end, granule| {
        w.write_packet(data, SERIAL, end, granule)
            .map_err(|e| format!("the Ogg file could not be written: {e}"))
    };
    write(&mut writer, head, PacketWriteEndInfo::EndPage, 0)?;
    let mut tags = b"OpusTags".to_vec();
    let vendor = b"atende";
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    write(&mut writer, tags, PacketWriteEndInfo::EndPage, 0)?;
    let mut granule = pre_skip;
    let last = packets.len() - 1;
    for (i, packet) in packets.into_iter().enumerate() {
        granule += samples(&packet);
        let end = if i == last {
            PacketWriteEndInfo::EndStream
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        write(&mut writer, packet, end, granule)?;
    }
    drop(writer);
    let seconds = granule.saturating_sub(pre_skip) as f64 / RATE as f64;
    Ok(VoiceNote { ogg: out, seconds })
}

/// The elements of one level: (id, content). An element of unknown size (a live
/// recording's segment and clusters) runs to the end of its parent, so its children are
/// read as this level's.
fn children(mut data: &[u8]) -> Result<Vec<(u32, &[u8])>, &'static str> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (id, id_len) = vint(data, true).ok_or("a broken element id")?;
        let (size, size_len) = vint(&data[id_len..], false).ok_or("a broken element size")?;
        let start = id_len + size_len;
        let unknown = size == (1 << (7 * size_len)) - 1;
        let id = u32::try_from(id).map_err(|_| "an element id over four bytes")?;
        if unknown {
            if id != SEGMENT && id != CLUSTER {
                return Err("an element of unknown size");
            }
            data = &data[start..];
            continue;
        }
        let end = usize::try_from(size)
            .ok()
            .and_then(|size| start.checked_add(size))
            .filter(|&end| end <= data.len())
            .ok_or("an element larger than the file")?;
        out.push((id, &data[start..end]));
        data = &data[end..];
    }
    Ok(out)
}

/// Reads the tracks and blocks of one level into `found`, going into the segment, its
/// clusters and block groups.
fn read_level<'a>(
    level: &[(u32, &'a [u8])],
    found: &mut Webm<'a>,
    depth: usize,
) -> Result<(), &'static str> {
    if depth > MAX_DEPTH {
        return Err("segments or clusters nested too deep");
    }
    for &(id, body) in level {
        match id {
            SEGMENT | CLUSTER => read_level(&children(body)?, found, depth + 1)?,
            TRACKS => {
                for (id, entry) in children(body)? {
                    if id == TRACK_ENTRY {
                        found.tracks.push(track(&children(entry)?));
                    }
                }
            }
            SIMPLE_BLOCK => found.blocks.push(body),
            BLOCK_GROUP => found.blocks.extend(
                children(body)?
                    .into_iter()
                    .filter(|(id, _)| *id == BLOCK)
                    .map(|(_, block)| block),
            ),
            _ => {}
        }
    }
    Ok(())
}

/// A track entry, from its fields.
fn track<'a>(fields: &[(u32, &'a [u8])]) -> Track<'a> {
    let field = |wanted| fields.iter().find(|(id, _)| *id == wanted).map(|f| f.1);
    let unsigned =
        |wanted| field(wanted).map(|b: &[u8]| b.iter().fold(0u64, |n, b| n << 8 | u64::from(*b)));
    Track {
        number: unsigned(TRACK_NUMBER).unwrap_or(0),
        audio: unsigned(TRACK_TYPE) == Some(AUDIO),
        codec: field(CODEC_ID).unwrap_or_default(),
        private: field(CODEC_PRIVATE),
    }
}

/// A block's track number and frames (Matroska's four lacings), or None when it is
/// broken.
fn frames(block: &[u8]) -> Option<(u64, Vec<&[u8]>)> {
    let (track, n) = vint(block, false)?;
    // The block's timecode (two bytes), then its flags.
    let flags = *block.get(n + 2)?;
    let mut rest = block.get(n + 3..)?;
    let lacing = (flags >> 1) & 0x3;
    if lacing == 0 {
        return Some((track, vec![rest]));
    }
    let (&count, after) = rest.split_first()?;
    rest = after;
    let count = usize::from(count) + 1;
    let mut sizes: Vec<usize> = Vec::with_capacity(count);
    match lacing {
        // Xiph: each size but the last as a run of bytes, 255 meaning "more".
        1 => {
            for _ in 1..count {
                let mut size = 0usize;
                loop {
                    let (&byte, after) = rest.split_first()?;
                    rest = after;
                    size += usize::from(byte);
                    if byte != 255 {
                        break;
                    }
                }
                sizes.push(size);
            }
        }
        // Fixed: frames of one size.
        2 => {
            if rest.len() % count != 0 {
                return None;
            }
            sizes.resize(count - 1, rest.len() / count);
        }
        // EBML: the first size, then each next as a signed difference.
        _ => {
            let (first, len) = vint(rest, false)?;
            rest = &rest[len..];
            let mut size = i64::try_from(first).ok()?;
            sizes.push(usize::try_from(size).ok()?);
            for _ in 2..count {
                let (raw, len) = vint(rest, false)?;
                rest = &rest[len..];
                let bias = (1i64 << (7 * len - 1)) - 1;
                size = size.checked_add(i64::try_from(raw).ok()? - bias)?;
                sizes.push(usize::try_from(size).ok()?);
            }
        }
    }
    let mut frames = Vec::with_capacity(count);
    for size in sizes {
        if size > rest.len() {
            return None;
        }
        let (frame, after) = rest.split_at(size);
        frames.push(frame);
        rest = after;
    }
    frames.push(rest);
    Some((track, frames))
}

/// An EBML variable-length integer at the start of `data` and its length in bytes; with
/// `marker` its length marker is kept (as element ids are written).
fn vint(data: &[u8], marker: bool) -> Option<(u64, usize)> {
    let first = *data.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || data.len() < len {
        return None;
    }
    let lead = if marker {
        u64::from(first)
    } else {
        u64::from(first) & (0xFF >> len)
    };
    let value = data[1..len]
        .iter()
        .fold(lead, |n, b| n << 8 | u64::from(*b));
    Some((value, len))
}

/// The samples (at 48 kHz) one Opus packet decodes to, from its TOC byte (RFC 6716, 3.1).
fn samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else {
        return 0;
    };
    let config = toc >> 3;
    // 2.5, 5, 10, 20, 40 or 60 ms, by mode.
    let per_frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |c| u64::from(c & 0x3f)),
    };
    per_frame * frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opus_packets_length_is_read_from_its_toc() {
        // The TOC byte: configuration (5 bits), stereo (1), frame count code (2).
        let toc = |config: u8, code: u8| (config << 3) | code;
        // 20 ms CELT, one frame; 20 ms SILK, two frames; code 3 with three 20 ms frames.
        assert_eq!(samples(&[toc(31, 0)]), 960);
        assert_eq!(samples(&[toc(1, 1)]), 1920);
        assert_eq!(samples(&[toc(31, 3), 3]), 2880);
        assert_eq!(samples(&[]), 0);
    }

    #[test]
    fn a_chrome_recording_becomes_an_ogg_opus_stream_with_every_packet() {
        // 1.5 s from Chromium's fake microphone, as its MediaRecorder writes it (a live
        // WebM: clusters of unknown size, no cues).
        let webm = include_bytes!("../../tests/fixtures/voice/chrome-recording.webm");
        let note = webm_to_ogg(webm).unwrap();
        assert!((1.2..=1.8).contains(&note.seconds), "{} s", note.seconds);
        let mut reader = ogg::reading::PacketReader::new(std::io::Cursor::new(note.ogg));
        let mut packets = Vec::new();
        while let Some(packet) = reader.read_packet().unwrap() {
            packets.push(packet);
        }
        assert!(packets[0].data.starts_with(b"OpusHead"));
        assert!(packets[1].data.starts_with(b"OpusTags"));
        assert_eq!(packets.len(), 2 + 25, "every frame of the recording");
        let head = &packets[0].data;
        let pre_skip = u64::from(u16::from_le_bytes([head[10], head[11]]));
        let last = packets.last().unwrap();
        assert!(last.last_in_stream());
        assert_eq!(
            last.absgp_page(),
            pre_skip + 25 * 2880,
            "pre-skip and 25 packets of 60 ms"
        );
    }

    #[test]
    fn what_is_not_webm_with_opus_is_refused() {
        assert!(webm_to_ogg(b"not a webm file at all").is_err());
    }

    /// An element: its id's bytes, its size as an 8-byte EBML integer, its content.
    fn element(id: u32, body: &[u8]) -> Vec<u8> {
        let id = id.to_be_bytes();
        let skip = id.iter().take_while(|b| **b == 0).count();
        let mut out = id[skip..].to_vec();
        out.extend_from_slice(&(body.len() as u64 | 1 << 56).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A WebM with one Opus track (number 1) and `blocks` (already framed) after it.
    fn opus_webm(blocks: &[u8]) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 1, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]);
        let entry = [
            element(TRACK_NUMBER, &[1]),
            element(TRACK_TYPE, &[2]),
            element(CODEC_ID, b"A_OPUS"),
            element(CODEC_PRIVATE, &head),
        ]
        .concat();
        let tracks = element(TRACKS, &element(TRACK_ENTRY, &entry));
        let segment = [tracks, element(CLUSTER, blocks)].concat();
        [
            element(EBML, &element(0x4282, b"webm")),
            element(SEGMENT, &segment),
        ]
        .concat()
    }

    /// A block of track 1 with `lacing` (0 to 3) and what follows its flags.
    fn block(id: u32, lacing: u8, rest: &[u8]) -> Vec<u8> {
        let body = [&[0x81, 0, 0, lacing << 1][..], rest].concat();
        element(id, &body)
    }

    #[test]
    fn every_lacing_of_a_block_gives_its_frames() {
        // 20 ms CELT packets (TOC 0xF8), of three, four and five bytes.
        let (a, b, c) = (
            &[0xF8, 1, 2][..],
            &[0xF8, 3, 4, 5][..],
            &[0xF8, 6, 7, 8, 9][..],
        );
        let xiph = block(SIMPLE_BLOCK, 1, &[&[2, 3, 4][..], a, b, c].concat());
        // EBML: the first size 3 (0x83), then +1 (0xBF + 1 = 0xC0 with a bias of 63).
        let ebml = block(SIMPLE_BLOCK, 3, &[&[2, 0x83, 0xC0][..], a, b, c].concat());
        let fixed = element(BLOCK_GROUP, &block(BLOCK, 2, &[&[1][..], b, b].concat()));
        let plain = block(SIMPLE_BLOCK, 0, c);
        let webm = opus_webm(&[xiph, ebml, fixed, plain].concat());
        let note = webm_to_ogg(&webm).unwrap();
        let mut reader = ogg::reading::PacketReader::new(std::io::Cursor::new(note.ogg));
        let mut packets = Vec::new();
        while let Some(packet) = reader.read_packet().unwrap() {
            packets.push(packet.data);
        }
        let frames: Vec<&[u8]> = packets[2..].iter().map(Vec::as_slice).collect();
        assert_eq!(frames, [a, b, c, a, b, c, b, b, c]);
        assert!((note.seconds - 9.0 * 0.02).abs() < 1e-9, "{}", note.seconds);
    }

    #[test]
    fn declared_sizes_beyond_the_file_are_refused_without_allocating_them() {
        // An EBML header whose element claims 2^56 bytes: what once aborted the process.
        let huge = [
            0x1A, 0x45, 0xDF, 0xA3, 0x8A, 0x42, 0x82, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFE,
        ];
        assert!(webm_to_ogg(&huge).is_err());
        // A live segment (unknown size) whose tracks claim far more than is there.
        let mut live = element(EBML, &element(0x4282, b"webm"));
        live.extend_from_slice(&[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        live.extend_from_slice(&[
            0x16, 0x54, 0xAE, 0x6B, 0x01, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        let refused = webm_to_ogg(&live).unwrap_err();
        assert!(refused.contains("larger than the file"), "{refused}");
        // A laced block whose frame sizes run past its end.
        let broken = opus_webm(&block(SIMPLE_BLOCK, 1, &[1, 255, 255, 9, 0xF8]));
        assert_eq!(webm_to_ogg(&broken).unwrap_err(), "a broken WebM block");
        // Clusters nested a thousand deep.
        let mut nested = block(SIMPLE_BLOCK, 0, &[0xF8]);
        for _ in 0..1000 {
            nested = element(CLUSTER, &nested);
        }
        let refused = webm_to_ogg(&opus_webm(&nested)).unwrap_err();
        assert!(refused.contains("nested too deep"), "{refused}");
    }
}
