//! Small valid files behind the `sim-image-*`, `sim-audio-*` and `sim-document-*` media
//! ids, so simulated customers can send media without anything being uploaded first.

/// A 1x1 PNG of WhatsApp green (`#25D366`), checksums included.
const PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x50, 0xbd, 0x9c, 0x06,
    0x00, 0x02, 0x7f, 0x01, 0x5f, 0x69, 0x21, 0xf9, 0xde, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// MPEG-1 Layer III frame header: 128 kbit/s, 44.1 kHz, mono, no CRC, original.
const MP3_FRAME_HEADER: [u8; 4] = [0xff, 0xfb, 0x90, 0xc4];
/// Bytes of one such frame: 144 * 128000 / 44100, rounded down (no padding bit).
const MP3_FRAME_BYTES: usize = 417;
/// Enough frames in a row for sniffers that want to see the stream continue.
const MP3_FRAMES: usize = 3;

/// The bytes and MIME type served for a built-in placeholder id, `None` for other ids.
pub fn placeholder_media(media_id: &str) -> Option<(Vec<u8>, &'static str)> {
    if media_id.starts_with("sim-image-") {
        Some((PNG.to_vec(), "image/png"))
    } else if media_id.starts_with("sim-audio-") {
        Some((silent_mp3(), "audio/mpeg"))
    } else if media_id.starts_with("sim-document-") {
        Some((one_page_pdf(), "application/pdf"))
    } else {
        None
    }
}

/// A few silent MP3 frames: all-zero side information and main data decode as silence.
fn silent_mp3() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MP3_FRAMES * MP3_FRAME_BYTES);
    for _ in 0..MP3_FRAMES {
        bytes.extend_from_slice(&MP3_FRAME_HEADER);
        bytes.resize(bytes.len() + MP3_FRAME_BYTES - MP3_FRAME_HEADER.len(), 0);
    }
    bytes
}

/// A one-page PDF that says "Atende sandbox", with a correct cross-reference table.
fn one_page_pdf() -> Vec<u8> {
    let content = "BT /F1 18 Tf 24 60 Td (Atende sandbox) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 240 120] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{object}\nendobj\n", index + 1));
    }
    let xref_at = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        pdf.push_str(&format!("{offset:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_pdf_points_at_its_cross_reference_table() {
        let pdf = String::from_utf8(one_page_pdf()).expect("the PDF is ASCII");
        let xref_at: usize = pdf
            .rsplit("startxref\n")
            .next()
            .and_then(|tail| tail.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref names an offset");
        assert!(pdf[xref_at..].starts_with("xref\n"));
        for (number, line) in pdf[xref_at..].lines().skip(3).take(5).enumerate() {
            let offset: usize = line[..10].parse().expect("an offset");
            assert!(pdf[offset..].starts_with(&format!("{} 0 obj", number + 1)));
        }
    }

    #[test]
    fn placeholder_ids_serve_files_of_their_kind() {
        let cases = [
            ("sim-image-1", "image/png", &b"\x89PNG"[..]),
            ("sim-audio-7", "audio/mpeg", &b"\xff\xfb"[..]),
            ("sim-document-2", "application/pdf", &b"%PDF-"[..]),
        ];
        for (id, mime, magic) in cases {
            let (bytes, mime_type) = placeholder_media(id).expect("a placeholder");
            assert_eq!(mime_type, mime, "{id}");
            assert!(bytes.starts_with(magic), "{id}");
        }
        assert!(placeholder_media("sim-video-1").is_none());
        assert!(placeholder_media("12345").is_none());
    }
}
