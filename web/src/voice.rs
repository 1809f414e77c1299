//! Voice notes: the browser records WebM with Opus (Chrome's MediaRecorder), WhatsApp
//! plays a voice note as Ogg with Opus. The Opus packets are moved from the one container
//! to the other as they are (no re-encoding): the WebM track's `OpusHead` (its codec
//! private data) heads the Ogg stream, then `OpusTags`, then one packet per WebM frame,
//! each page's granule position the samples (48 kHz) decoded so far (RFC 7845).

use std::io::Cursor;

use matroska_demuxer::{Frame, MatroskaFile, TrackType};
use ogg::writing::{PacketWriteEndInfo, PacketWriter};

/// The Ogg stream's serial number (any; one stream per file).
const SERIAL: u32 = 0x6174_6e64;
/// Opus decodes at 48 kHz whatever the input rate.
const RATE: u64 = 48_000;

/// A voice note as WhatsApp takes it.
#[derive(Debug)]
pub struct VoiceNote {
    pub ogg: Vec<u8>,
    pub seconds: f64,
}

/// `webm` as an Ogg/Opus file, or why it is not a WebM with an Opus track.
pub fn webm_to_ogg(webm: &[u8]) -> Result<VoiceNote, String> {
    let mut mkv =
        MatroskaFile::open(Cursor::new(webm)).map_err(|e| format!("not a WebM file: {e}"))?;
    let track = mkv
        .tracks()
        .iter()
        .find(|t| t.track_type() == TrackType::Audio && t.codec_id() == "A_OPUS")
        .ok_or("the WebM file has no Opus audio")?;
    let number = track.track_number().get();
    let head = track
        .codec_private()
        .filter(|p| p.starts_with(b"OpusHead") && p.len() >= 19)
        .ok_or("the Opus track has no OpusHead")?
        .to_vec();
    let pre_skip = u64::from(u16::from_le_bytes([head[10], head[11]]));
    let mut packets = Vec::new();
    let mut frame = Frame::default();
    while mkv
        .next_frame(&mut frame)
        .map_err(|e| format!("a broken WebM frame: {e}"))?
    {
        if frame.track == number && !frame.data.is_empty() {
            packets.push(std::mem::take(&mut frame.data));
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
}
