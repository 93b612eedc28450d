//! The vpcd connector: attaches any [`Applet`] to `pcscd` through the vsmartcard vpcd reader
//! driver, as a TCP client (vpcd listens, the card connects).
//!
//! Wire protocol (vsmartcard's vpcd): every message is a 2-byte big-endian length and a
//! payload. A 1-byte payload is a control message: 0 power off, 1 power on, 2 reset, 4 get ATR
//! (the only one answered). Any longer payload is a command APDU, answered by the response APDU.
//!
//! Latency: vpcd sends the length and the APDU in two writes. Without `TCP_NODELAY` on our side
//! and `TCP_QUICKACK` re-armed after every read, each exchange waits for a delayed ACK (~40 ms on
//! Linux). So the socket gets `TCP_NODELAY`, quick ACKs are re-armed after each `read`, and a
//! reply goes out as one buffer (length and payload in ONE write).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::SockRef;

use crate::applet::Applet;

/// Where vpcd listens for its first reader ("Virtual PCD 00 00"); the second one is on 35964.
pub const DEFAULT_VPCD_ADDR: &str = "127.0.0.1:35963";

/// vpcd control messages (vsmartcard `vpcd.h`).
const CONTROL_POWER_OFF: u8 = 0;
const CONTROL_POWER_ON: u8 = 1;
const CONTROL_RESET: u8 = 2;
const CONTROL_GET_ATR: u8 = 4;

/// ISO 7816-4 §5.6: "no precise diagnosis", for a response too long for one vpcd frame.
const SW_NO_PRECISE_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// What happened on the wire, for logging. It carries no APDU data on purpose: the data field
/// of a card command can hold tokens, signatures and channel ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Connected to vpcd: the card is "inserted".
    Connected(SocketAddr),
    /// Could not reach vpcd (logged once until the next success).
    Unreachable(String),
    /// The connection ended: the card is "removed" and has been powered off.
    Disconnected(String),
    /// The reader powered the card on.
    PowerOn,
    /// The reader powered the card off.
    PowerOff,
    /// The reader reset the card.
    Reset,
    /// A control byte this connector does not know (ignored, vpcd expects no answer).
    UnknownControl(u8),
    /// One command APDU and its answer: instruction byte, status word, sizes and card time.
    Apdu {
        cla: u8,
        ins: u8,
        sw: u16,
        command_len: usize,
        response_len: usize,
        elapsed: Duration,
    },
}

/// How the connector behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Reconnect when vpcd goes away (pcscd restart). When false, `serve` returns instead.
    pub reconnect: bool,
    /// Pause between connection attempts.
    pub retry_interval: Duration,
    /// Set to true to make `serve` return at the next poll (every `poll_interval`).
    pub stop: Arc<AtomicBool>,
    /// How often a blocked read wakes to look at `stop`.
    pub poll_interval: Duration,
    /// How long a fresh connection may stay silent before it is dropped and retried. pcscd
    /// asks for the ATR about every 400 ms once vpcd has accepted the card; a connection that
    /// hears nothing sits in the listen backlog of a vpcd that has not yet noticed its previous
    /// card left, and only a new connection gets through.
    pub first_frame_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            reconnect: true,
            retry_interval: Duration::from_millis(200),
            stop: Arc::new(AtomicBool::new(false)),
            poll_interval: Duration::from_millis(250),
            first_frame_timeout: Duration::from_secs(3),
        }
    }
}

/// Connects `applet` to vpcd at `addr` and serves it until `options.stop` is set (or, without
/// `options.reconnect`, until the first connection ends). The applet is powered off whenever
/// the connection drops, so no session state survives a vpcd restart.
pub fn serve<A: Applet + ?Sized>(
    applet: &mut A,
    addr: &str,
    options: &Options,
    mut on_event: impl FnMut(Event),
) -> io::Result<()> {
    let mut reported_unreachable = false;
    while !options.stop.load(Ordering::Relaxed) {
        match connect(addr) {
            Ok(stream) => {
                reported_unreachable = false;
                let peer = stream.peer_addr()?;
                on_event(Event::Connected(peer));
                let outcome = serve_connection(applet, stream, options, &mut on_event);
                applet.power_off();
                let reason = match outcome {
                    Ok(()) if options.stop.load(Ordering::Relaxed) => "stopped".to_owned(),
                    Ok(()) => "vpcd closed the connection".to_owned(),
                    Err(error) => error.to_string(),
                };
                on_event(Event::Disconnected(reason));
                if !options.reconnect {
                    return Ok(());
                }
            }
            Err(error) => {
                if !options.reconnect {
                    return Err(error);
                }
                if !reported_unreachable {
                    on_event(Event::Unreachable(format!("{addr}: {error}")));
                    reported_unreachable = true;
                }
            }
        }
        if !options.stop.load(Ordering::Relaxed) {
            std::thread::sleep(options.retry_interval);
        }
    }
    Ok(())
}

fn connect(addr: &str) -> io::Result<TcpStream> {
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "address resolves to nothing");
    for candidate in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&candidate, Duration::from_secs(2)) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

/// Serves one vpcd connection. `Ok(())` means vpcd closed it or `stop` was set.
fn serve_connection<A: Applet + ?Sized>(
    applet: &mut A,
    mut stream: TcpStream,
    options: &Options,
    on_event: &mut impl FnMut(Event),
) -> io::Result<()> {
    stream.set_read_timeout(Some(options.poll_interval))?;
    let mut frames = FrameReader::default();
    let mut deadline = Some(Instant::now() + options.first_frame_timeout);
    loop {
        let payload = match frames.next(&mut stream, &options.stop, deadline)? {
            Some(payload) => payload,
            None => return Ok(()),
        };
        deadline = None;
        match payload.as_slice() {
            [CONTROL_POWER_OFF] => {
                applet.power_off();
                on_event(Event::PowerOff);
            }
            [CONTROL_POWER_ON] => {
                applet.power_on();
                on_event(Event::PowerOn);
            }
            [CONTROL_RESET] => {
                applet.reset();
                on_event(Event::Reset);
            }
            // pcscd polls this about every 400 ms to see whether the card is still there, so
            // it is not logged.
            [CONTROL_GET_ATR] => send_frame(&mut stream, &applet.atr())?,
            [other] => on_event(Event::UnknownControl(*other)),
            // An empty frame is neither a control message nor an APDU: ignore it.
            [] => {}
            command => {
                let started = Instant::now();
                let mut response = applet.transmit(command);
                let elapsed = started.elapsed();
                if response.len() > usize::from(u16::MAX) || response.len() < 2 {
                    response = SW_NO_PRECISE_DIAGNOSIS.to_vec();
                }
                send_frame(&mut stream, &response)?;
                let sw = u16::from_be_bytes([
                    response[response.len() - 2],
                    response[response.len() - 1],
                ]);
                on_event(Event::Apdu {
                    cla: command[0],
                    ins: command.get(1).copied().unwrap_or(0),
                    sw,
                    command_len: command.len(),
                    response_len: response.len(),
                    elapsed,
                });
            }
        }
    }
}

/// Length and payload in one buffer, one `write` (see the module docs for why).
fn send_frame(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let length = u16::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "vpcd frame longer than 65535 bytes",
        )
    })?;
    let mut frame = Vec::with_capacity(2 + payload.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    stream.flush()
}

/// Reassembles vpcd frames across reads that may time out half-way (the read timeout exists
/// only to look at the stop flag).
#[derive(Default)]
struct FrameReader {
    buffer: Vec<u8>,
}

impl FrameReader {
    /// The next payload, or `None` when the peer closed cleanly or `stop` was set; an error
    /// once `deadline` (if any) passes without a whole frame.
    fn next(
        &mut self,
        stream: &mut TcpStream,
        stop: &AtomicBool,
        deadline: Option<Instant>,
    ) -> io::Result<Option<Vec<u8>>> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(payload) = self.take_frame() {
                return Ok(Some(payload));
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "vpcd accepted nothing on this connection (still serving a previous card?); reconnecting",
                ));
            }
            match stream.read(&mut chunk) {
                Ok(0) if self.buffer.is_empty() => return Ok(None),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "vpcd closed mid-frame",
                    ))
                }
                Ok(read) => {
                    // TCP_QUICKACK is not sticky (tcp(7)): re-arm it after every read so the
                    // ACK for vpcd's length-only segment goes out at once.
                    SockRef::from(&*stream).set_tcp_quickack(true)?;
                    self.buffer.extend_from_slice(&chunk[..read]);
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    fn take_frame(&mut self) -> Option<Vec<u8>> {
        let [high, low, ..] = self.buffer[..] else {
            return None;
        };
        let length = usize::from(u16::from_be_bytes([high, low]));
        if self.buffer.len() < 2 + length {
            return None;
        }
        let payload = self.buffer[2..2 + length].to_vec();
        self.buffer.drain(..2 + length);
        Some(payload)
    }
}

#[cfg(test)]
mod tests;
