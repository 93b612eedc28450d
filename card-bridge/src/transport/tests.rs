//! Transport tests against a tiny applet that answers in pieces (61xx) when asked to.

use super::*;

/// INS 0x10: echo the data field. INS 0x20: answer P1 × 100 bytes, 100 at a time through
/// 61xx + GET RESPONSE. INS 0x30: answer one byte only (malformed). Power state is tracked.
#[derive(Default)]
struct ChunkingApplet {
    pending: Vec<u8>,
    powered: bool,
    resets: u32,
}

impl ChunkingApplet {
    fn next_chunk(&mut self) -> Vec<u8> {
        let take = self.pending.len().min(100);
        let mut response: Vec<u8> = self.pending.drain(..take).collect();
        if self.pending.is_empty() {
            response.extend_from_slice(&[0x90, 0x00]);
        } else {
            response.extend_from_slice(&[0x61, self.pending.len().min(100) as u8]);
        }
        response
    }
}

impl Applet for ChunkingApplet {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x80, 0x80, 0x01, 0x01]
    }
    fn power_on(&mut self) {
        self.powered = true;
    }
    fn power_off(&mut self) {
        self.powered = false;
        self.pending.clear();
    }
    fn reset(&mut self) {
        self.resets += 1;
        self.pending.clear();
    }
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        match command {
            [_, 0x10, _, _, lc, data @ ..] if data.len() >= usize::from(*lc) => {
                let mut response = data[..usize::from(*lc)].to_vec();
                response.extend_from_slice(&[0x90, 0x00]);
                response
            }
            [_, 0x20, p1, ..] => {
                self.pending = (0..usize::from(*p1) * 100).map(|i| i as u8).collect();
                self.next_chunk()
            }
            [_, 0xC0, 0, 0, ..] if !self.pending.is_empty() => self.next_chunk(),
            [_, 0x30, ..] => vec![0x90],
            _ => vec![0x6D, 0x00],
        }
    }
}

#[test]
fn in_process_powers_on_and_echoes() {
    let mut transport = InProcessTransport::new(ChunkingApplet::default());
    assert!(transport.applet().powered);
    let response = transport
        .transmit(&[0x00, 0x10, 0, 0, 3, 0xAA, 0xBB, 0xCC])
        .unwrap();
    assert_eq!(response, [0xAA, 0xBB, 0xCC, 0x90, 0x00]);
    assert_eq!(transport.round_trips(), 1);
    let applet = transport.into_applet();
    assert!(!applet.powered);
}

#[test]
fn response_chaining_is_followed_and_counted() {
    let mut transport = InProcessTransport::new(ChunkingApplet::default());
    let response = transport.transmit(&[0x00, 0x20, 3, 0]).unwrap();
    let expected: Vec<u8> = (0..300).map(|i| i as u8).chain([0x90, 0x00]).collect();
    assert_eq!(response, expected);
    // One command and two GET RESPONSE rounds.
    assert_eq!(transport.round_trips(), 3);
}

#[test]
fn short_response_is_a_clear_error() {
    let mut transport = InProcessTransport::new(ChunkingApplet::default());
    let error = transport.transmit(&[0x00, 0x30, 0, 0]).unwrap_err();
    assert!(matches!(error, Error::MalformedResponse(_)), "{error}");
}

#[test]
fn endless_chaining_is_cut_off() {
    struct Endless;
    impl Applet for Endless {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x00]
        }
        fn power_on(&mut self) {}
        fn power_off(&mut self) {}
        fn reset(&mut self) {}
        fn transmit(&mut self, _: &[u8]) -> Vec<u8> {
            vec![0x00, 0x61, 0x01]
        }
    }
    let mut transport = InProcessTransport::new(Endless);
    assert!(matches!(
        transport.transmit(&[0, 0, 0, 0]),
        Err(Error::MalformedResponse(_))
    ));
}

#[test]
fn reset_and_power_cycle_reach_the_applet() {
    let mut transport = InProcessTransport::new(ChunkingApplet::default());
    transport.reset();
    transport.power_cycle();
    assert_eq!(transport.applet().resets, 1);
    assert!(transport.applet().powered);
}
