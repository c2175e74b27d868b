//! Reassembling scanner frames from the fragments a serial port delivers. Pure: bytes in,
//! frames out. Scanners end each code with CR, LF or CR+LF, or send nothing after it (then a
//! pause ends the frame). Input that cannot be a code (too long, NUL bytes, not UTF-8) is
//! counted and dropped, never a panic.

use crate::core::problem::Problem;
use std::time::Duration;

/// How the scanner marks the end of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Carriage return; stray line feeds are ignored.
    Cr,
    /// Line feed; stray carriage returns are ignored.
    Lf,
    /// CR+LF; either ends a code, and the empty line between them is dropped.
    CrLf,
    /// No terminator: a pause in the data this long ends the code.
    Silence(Duration),
}

impl Framing {
    /// Reads the config form: "cr", "lf", "crlf" or "silence:50ms".
    pub fn parse(text: &str) -> Result<Framing, Problem> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "cr" => Ok(Framing::Cr),
            "lf" => Ok(Framing::Lf),
            "crlf" | "cr+lf" => Ok(Framing::CrLf),
            _ => {
                let gap = t.strip_prefix("silence:").ok_or_else(|| {
                    format!("framing {text:?} is not one of cr, lf, crlf, silence:<time> (e.g. silence:50ms)")
                })?;
                let gap =
                    humantime::parse_duration(gap).map_err(|e| format!("framing {text:?}: {e}"))?;
                if gap < Duration::from_millis(5) || gap > Duration::from_secs(2) {
                    return Err(Problem::new(format!(
                        "framing {text:?}: the pause must be between 5ms and 2s"
                    )));
                }
                Ok(Framing::Silence(gap))
            }
        }
    }
}

/// What was read, as counts for the status and `scanner listen`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameCounts {
    pub frames: u64,
    /// Longer than the maximum: discarded up to the next terminator.
    pub overlong: u64,
    /// Held a NUL byte or was not UTF-8 (wrong baud rate, line noise).
    pub garbage: u64,
}

/// One complete frame: its bytes as received, and its text if it is a plausible code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    pub text: Option<String>,
}

impl Frame {
    /// The bytes for people: printable ASCII as is, anything else as `<hex>` (a GS1 group
    /// separator shows as `<1d>`).
    pub fn shown(&self) -> String {
        let mut out = String::new();
        match &self.text {
            Some(text) => {
                for c in text.chars() {
                    if c.is_control() {
                        out.push_str(&format!("<{:02x}>", c as u32));
                    } else {
                        out.push(c);
                    }
                }
            }
            None => {
                for b in &self.bytes {
                    if (0x20..0x7f).contains(b) {
                        out.push(*b as char);
                    } else {
                        out.push_str(&format!("<{b:02x}>"));
                    }
                }
            }
        }
        out
    }
}

#[derive(Debug)]
pub struct FrameAssembler {
    framing: Framing,
    max_len: usize,
    buf: Vec<u8>,
    /// Inside an overlong frame: dropping bytes until its end.
    discarding: bool,
    counts: FrameCounts,
}

impl FrameAssembler {
    pub fn new(framing: Framing, max_len: usize) -> FrameAssembler {
        FrameAssembler {
            framing,
            max_len: max_len.max(1),
            buf: Vec::new(),
            discarding: false,
            counts: FrameCounts::default(),
        }
    }

    pub fn counts(&self) -> FrameCounts {
        self.counts
    }

    fn is_end(&self, b: u8) -> bool {
        match self.framing {
            Framing::Cr => b == b'\r',
            Framing::Lf => b == b'\n',
            Framing::CrLf => b == b'\r' || b == b'\n',
            Framing::Silence(_) => false,
        }
    }

    fn is_stray(&self, b: u8) -> bool {
        match self.framing {
            Framing::Cr => b == b'\n',
            Framing::Lf => b == b'\r',
            _ => false,
        }
    }

    /// Takes the next fragment and returns the frames it completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        for &b in bytes {
            if self.is_end(b) {
                if let Some(f) = self.finish() {
                    frames.push(f);
                }
                continue;
            }
            if self.is_stray(b) || self.discarding {
                continue;
            }
            if self.buf.len() == self.max_len {
                self.buf.clear();
                self.discarding = true;
                // Dropped up to the next terminator (with silence framing, the next pause).
                self.counts.overlong += 1;
                continue;
            }
            self.buf.push(b);
        }
        frames
    }

    /// The line has been quiet for the framing's pause (only meaningful with
    /// `Framing::Silence`; with terminators a pause means nothing).
    pub fn pause(&mut self) -> Option<Frame> {
        match self.framing {
            Framing::Silence(_) => self.finish(),
            _ => None,
        }
    }

    /// Partial input is dropped when the scanner goes away (unplugged mid-code).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.discarding = false;
    }

    fn finish(&mut self) -> Option<Frame> {
        let bytes = std::mem::take(&mut self.buf);
        if std::mem::replace(&mut self.discarding, false) || bytes.is_empty() {
            return None;
        }
        let text = match String::from_utf8(bytes.clone()) {
            Ok(t) if !t.contains('\0') => Some(t),
            _ => {
                self.counts.garbage += 1;
                None
            }
        };
        if text.is_some() {
            self.counts.frames += 1;
        }
        Some(Frame { bytes, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(frames: Vec<Frame>) -> Vec<String> {
        frames.into_iter().filter_map(|f| f.text).collect()
    }

    #[test]
    fn fragments_are_joined_and_every_terminator_style_works() {
        let mut a = FrameAssembler::new(Framing::CrLf, 512);
        assert!(a.push(b"RCP-00").is_empty());
        assert!(a.push(b"12").is_empty());
        assert_eq!(texts(a.push(b"34\r")), ["RCP-001234"]);
        assert_eq!(texts(a.push(b"\nNEXT\r\n\r\nTHIRD\n")), ["NEXT", "THIRD"]);
        let mut cr = FrameAssembler::new(Framing::Cr, 512);
        assert_eq!(texts(cr.push(b"A1\r\nB2\r")), ["A1", "B2"]);
        let mut lf = FrameAssembler::new(Framing::Lf, 512);
        assert_eq!(texts(lf.push(b"A1\r\nB2\n")), ["A1", "B2"]);
    }

    #[test]
    fn a_pause_ends_a_frame_when_there_is_no_terminator() {
        let mut a = FrameAssembler::new(Framing::Silence(Duration::from_millis(50)), 512);
        assert!(a.push(b"0104012345").is_empty());
        assert!(a.push(b"678901").is_empty());
        assert_eq!(
            a.pause().and_then(|f| f.text).as_deref(),
            Some("0104012345678901")
        );
        assert_eq!(a.pause(), None);
        // With terminators, a pause is just a pause.
        let mut b = FrameAssembler::new(Framing::Cr, 512);
        b.push(b"half");
        assert_eq!(b.pause(), None);
        assert_eq!(texts(b.push(b"way\r")), ["halfway"]);
    }

    #[test]
    fn overlong_input_is_discarded_to_the_next_terminator_and_counted() {
        let mut a = FrameAssembler::new(Framing::CrLf, 8);
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\r\nOK123\r\n");
        assert_eq!(texts(a.push(&input)), ["OK123"]);
        assert_eq!(a.counts().overlong, 1);
        // Exactly the maximum still fits.
        assert_eq!(texts(a.push(b"12345678\r")), ["12345678"]);
    }

    #[test]
    fn garbage_is_counted_and_never_a_code() {
        let mut a = FrameAssembler::new(Framing::CrLf, 512);
        let frames = a.push(b"\xff\xfe\x80\r\nAB\0CD\r\nGOOD\r\n");
        assert_eq!(texts(frames.clone()), ["GOOD"]);
        assert_eq!(
            a.counts(),
            FrameCounts {
                frames: 1,
                overlong: 0,
                garbage: 2
            }
        );
        assert_eq!(frames[0].shown(), "<ff><fe><80>");
        // A GS1 group separator is part of a code, shown as hex.
        let gs1 = a.push(b"0104012345678901\x1d10ABC\r").remove(0);
        assert_eq!(gs1.text.as_deref(), Some("0104012345678901\u{1d}10ABC"));
        assert_eq!(gs1.shown(), "0104012345678901<1d>10ABC");
    }

    #[test]
    fn framing_is_read_from_the_config() {
        assert_eq!(Framing::parse("CRLF"), Ok(Framing::CrLf));
        assert_eq!(
            Framing::parse("silence:50ms"),
            Ok(Framing::Silence(Duration::from_millis(50)))
        );
        assert!(Framing::parse("silence:1h").is_err());
        assert!(Framing::parse("tab").unwrap_err().contains("cr, lf, crlf"));
    }
}
