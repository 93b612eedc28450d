//! The connector against a fake vpcd (a TCP listener on 127.0.0.1:0 speaking vpcd framing).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use super::*;

/// Records what the reader did to it; answers APDUs with their INS byte and 9000.
#[derive(Clone, Default)]
struct RecordingApplet {
    log: Arc<Mutex<Vec<String>>>,
}

impl RecordingApplet {
    fn push(&self, entry: &str) {
        self.log.lock().unwrap().push(entry.to_owned());
    }
    fn entries(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Applet for RecordingApplet {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x80, 0x80, 0x01, 0x01]
    }
    fn power_on(&mut self) {
        self.push("on");
    }
    fn power_off(&mut self) {
        self.push("off");
    }
    fn reset(&mut self) {
        self.push("reset");
    }
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        self.push(&format!("apdu {}", hex::encode(command)));
        vec![command[1], 0x90, 0x00]
    }
}

fn send(stream: &mut TcpStream, payload: &[u8]) {
    // vpcd itself sends length and payload separately: do the same.
    stream
        .write_all(&(payload.len() as u16).to_be_bytes())
        .unwrap();
    stream.write_all(payload).unwrap();
}

fn receive(stream: &mut TcpStream) -> Vec<u8> {
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).unwrap();
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut payload).unwrap();
    payload
}

fn fast_options(reconnect: bool) -> Options {
    Options {
        reconnect,
        retry_interval: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        ..Options::default()
    }
}

#[test]
fn answers_atr_apdus_and_control_messages() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let applet = RecordingApplet::default();
    let mut card = applet.clone();
    let events = Arc::new(Mutex::new(Vec::new()));
    let events_in = events.clone();
    let card_thread = thread::spawn(move || {
        serve(&mut card, &addr, &fast_options(false), |event| {
            events_in.lock().unwrap().push(event)
        })
    });
    let (mut vpcd, _) = listener.accept().unwrap();
    send(&mut vpcd, &[CONTROL_GET_ATR]);
    assert_eq!(receive(&mut vpcd), [0x3B, 0x80, 0x80, 0x01, 0x01]);
    send(&mut vpcd, &[CONTROL_POWER_ON]);
    send(&mut vpcd, &[0x00, 0xA4, 0x04, 0x00, 0x01, 0xAA]);
    assert_eq!(receive(&mut vpcd), [0xA4, 0x90, 0x00]);
    send(&mut vpcd, &[CONTROL_RESET]);
    send(&mut vpcd, &[9]);
    send(&mut vpcd, &[]);
    send(&mut vpcd, &[CONTROL_POWER_OFF]);
    // A get-ATR after the others proves they were all consumed without a reply.
    send(&mut vpcd, &[CONTROL_GET_ATR]);
    assert_eq!(receive(&mut vpcd).len(), 5);
    drop(vpcd);
    card_thread.join().unwrap().unwrap();
    // The final "off" is the connector powering the card down when vpcd went away.
    assert_eq!(
        applet.entries(),
        ["on", "apdu 00a4040001aa", "reset", "off", "off"]
    );
    let events = events.lock().unwrap();
    assert!(events.iter().any(|event| matches!(
        event,
        Event::Apdu {
            ins: 0xA4,
            sw: 0x9000,
            command_len: 6,
            response_len: 3,
            ..
        }
    )));
    assert!(events.contains(&Event::UnknownControl(9)));
    assert!(matches!(events.last(), Some(Event::Disconnected(_))));
}

#[test]
fn reply_arrives_in_one_segment_with_nodelay() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut card = RecordingApplet::default();
    let card_thread = thread::spawn(move || serve(&mut card, &addr, &fast_options(false), |_| {}));
    let (mut vpcd, _) = listener.accept().unwrap();
    send(&mut vpcd, &[0x00, 0x10, 0x00, 0x00]);
    // Length and payload come in one write, so the first read normally returns the whole frame.
    let mut buffer = [0u8; 16];
    let mut got = 0;
    while got < 5 {
        got += vpcd.read(&mut buffer[got..]).unwrap();
    }
    assert_eq!(&buffer[..5], [0x00, 0x03, 0x10, 0x90, 0x00]);
    drop(vpcd);
    card_thread.join().unwrap().unwrap();
}

#[test]
fn reconnects_after_vpcd_restarts_and_stops_on_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let applet = RecordingApplet::default();
    let mut card = applet.clone();
    let options = fast_options(true);
    let stop = options.stop.clone();
    let card_thread = thread::spawn(move || serve(&mut card, &addr, &options, |_| {}));
    // First vpcd "instance": one APDU, then it dies.
    let (mut first, _) = listener.accept().unwrap();
    send(&mut first, &[0x00, 0x01, 0x00, 0x00]);
    assert_eq!(receive(&mut first), [0x01, 0x90, 0x00]);
    drop(first);
    // The card comes back by itself.
    let (mut second, _) = listener.accept().unwrap();
    send(&mut second, &[CONTROL_GET_ATR]);
    assert_eq!(receive(&mut second).len(), 5);
    send(&mut second, &[0x00, 0x02, 0x00, 0x00]);
    assert_eq!(receive(&mut second), [0x02, 0x90, 0x00]);
    stop.store(true, Ordering::Relaxed);
    card_thread.join().unwrap().unwrap();
    assert_eq!(
        applet.entries(),
        ["apdu 00010000", "off", "apdu 00020000", "off"]
    );
}

#[test]
fn unreachable_vpcd_without_reconnect_is_an_error() {
    // Bind then drop, so the port is (very likely) closed.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut card = RecordingApplet::default();
    assert!(serve(&mut card, &addr, &fast_options(false), |_| {}).is_err());
}

#[test]
fn frame_reader_splits_and_joins_frames() {
    let mut frames = FrameReader {
        buffer: vec![0, 1, 4, 0, 2, 0xAA],
    };
    assert_eq!(frames.take_frame(), Some(vec![4]));
    assert_eq!(frames.take_frame(), None);
    frames.buffer.push(0xBB);
    assert_eq!(frames.take_frame(), Some(vec![0xAA, 0xBB]));
    assert!(frames.buffer.is_empty());
}

#[test]
fn a_connection_vpcd_never_serves_is_dropped_and_retried() {
    // A listener that is never accepted from: connections complete in the kernel's backlog
    // and hear nothing, as with a vpcd still holding its previous card.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut card = RecordingApplet::default();
    let options = Options {
        first_frame_timeout: Duration::from_millis(100),
        ..fast_options(true)
    };
    let stop = options.stop.clone();
    let events = Arc::new(Mutex::new(Vec::new()));
    let events_in = events.clone();
    let card_thread = thread::spawn(move || {
        serve(&mut card, &addr, &options, |event| {
            events_in.lock().unwrap().push(event)
        })
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let connects = events
            .lock()
            .unwrap()
            .iter()
            .filter(|event| matches!(event, Event::Connected(_)))
            .count();
        if connects >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no second connection attempt");
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    card_thread.join().unwrap().unwrap();
    let events = events.lock().unwrap();
    assert!(events.iter().any(|event| matches!(
        event,
        Event::Disconnected(reason) if reason.contains("accepted nothing")
    )));
    drop(listener);
}
