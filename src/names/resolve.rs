//! A stub resolver for `fwgen resolve`: A and AAAA queries to one recursive server over UDP
//! (TCP when the answer is truncated), following CNAME chains. Packets are built and read
//! by `simple-dns`; what is sent where, and how long to wait, is here.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, RCODE, TYPE};

/// How long one attempt waits for an answer, and how many attempts a question gets.
const TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPTS: u32 = 3;
/// How long one question may take, all attempts over UDP and TCP together: a server that
/// drips its answer a byte at a time cannot hold a read open for longer.
pub const QUESTION_DEADLINE: Duration = Duration::from_secs(6);
/// CNAME hops followed before giving up (a loop, or a chain no resolver should return).
const MAX_CHAIN: usize = 16;

/// Why a name has no addresses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("`{0}` is not a host name (letters, digits, `-` and `_` in dot-separated labels)")]
    NotAHostName(String),
    #[error("`{host}` does not exist (NXDOMAIN from {server})")]
    NoSuchName { host: String, server: SocketAddr },
    #[error("`{host}` has no A or AAAA record (answer from {server})")]
    NoAddress { host: String, server: SocketAddr },
    #[error("`{host}`: {server} answered {rcode}")]
    Failed {
        host: String,
        server: SocketAddr,
        rcode: String,
    },
    #[error("`{host}`: no answer from {server} ({why})")]
    NoAnswer {
        host: String,
        server: SocketAddr,
        why: String,
    },
    #[error("`{host}`: the CNAME chain is longer than {MAX_CHAIN} names or loops")]
    ChainTooLong { host: String },
}

/// Whether `name` is something fwgen may put into a DNS query and a lock file.
pub fn is_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The A and AAAA addresses of `host`, sorted, as `server` answers them.
pub fn resolve(server: SocketAddr, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
    if !is_host_name(host) {
        return Err(ResolveError::NotAHostName(crate::text::sanitize(host, 80)));
    }
    let mut all = Vec::new();
    let mut nxdomain = 0;
    for qtype in [TYPE::A, TYPE::AAAA] {
        match lookup(server, host, qtype) {
            Ok(found) => all.extend(found),
            Err(ResolveError::NoSuchName { .. }) => nxdomain += 1,
            Err(e) => return Err(e),
        }
    }
    if nxdomain == 2 {
        return Err(ResolveError::NoSuchName {
            host: host.to_string(),
            server,
        });
    }
    if all.is_empty() {
        return Err(ResolveError::NoAddress {
            host: host.to_string(),
            server,
        });
    }
    all.sort();
    all.dedup();
    Ok(all)
}

/// The addresses of one type, following CNAMEs inside the answer and, when a resolver
/// stops halfway, by asking again for the chain's last name.
fn lookup(server: SocketAddr, host: &str, qtype: TYPE) -> Result<Vec<IpAddr>, ResolveError> {
    let mut name = super::host_key(host);
    let mut seen = Vec::new();
    loop {
        if seen.len() > MAX_CHAIN || seen.contains(&name) {
            return Err(ResolveError::ChainTooLong {
                host: host.to_string(),
            });
        }
        seen.push(name.clone());
        let reply = exchange(server, host, &name, qtype)?;
        match read_answer(&reply, &name, qtype, &mut seen) {
            Reading::Addresses(found) => return Ok(found),
            Reading::Nothing => return Ok(Vec::new()),
            Reading::AskFor(next) => name = next,
            Reading::NoSuchName => {
                return Err(ResolveError::NoSuchName {
                    host: host.to_string(),
                    server,
                });
            }
            Reading::Failed(rcode) => {
                return Err(ResolveError::Failed {
                    host: host.to_string(),
                    server,
                    rcode,
                });
            }
            Reading::Unreadable(why) => {
                return Err(ResolveError::NoAnswer {
                    host: host.to_string(),
                    server,
                    why: format!("unreadable answer: {why}"),
                });
            }
            Reading::ChainTooLong => {
                return Err(ResolveError::ChainTooLong {
                    host: host.to_string(),
                });
            }
        }
    }
}

/// What one answer says about a question.
#[derive(Debug, PartialEq, Eq)]
pub enum Reading {
    /// Records of the asked type, for the name or at the end of its CNAME chain.
    Addresses(Vec<IpAddr>),
    /// The name exists and has no record of this type.
    Nothing,
    /// The chain leads to a name this answer says nothing about: ask for it.
    AskFor(String),
    NoSuchName,
    /// Another response code (`ServerFailure`, `Refused`, …).
    Failed(String),
    Unreadable(String),
    ChainTooLong,
}

/// Read the answer `reply` to the question (`name`, `qtype`); `seen` holds the names asked
/// for so far and gets the chain's names (a loop or an over-long chain is refused). Whatever
/// the bytes, this returns: a resolver's answer is input from the network.
pub fn read_answer(reply: &[u8], name: &str, qtype: TYPE, seen: &mut Vec<String>) -> Reading {
    let packet = match Packet::parse(reply) {
        Ok(p) => p,
        Err(e) => return Reading::Unreadable(e.to_string()),
    };
    match packet.rcode() {
        RCODE::NoError => {}
        RCODE::NameError => return Reading::NoSuchName,
        other => return Reading::Failed(format!("{other:?}")),
    }
    let mut name = super::host_key(name);
    let mut found = Vec::new();
    let mut hops = 0;
    loop {
        let mut next = None;
        for rr in &packet.answers {
            if rr.class != CLASS::IN || !same_name(&rr.name, &name) {
                continue;
            }
            match &rr.rdata {
                RData::A(a) if qtype == TYPE::A => {
                    found.push(IpAddr::from(std::net::Ipv4Addr::from(a.address)))
                }
                RData::AAAA(a) if qtype == TYPE::AAAA => {
                    found.push(IpAddr::from(std::net::Ipv6Addr::from(a.address)))
                }
                RData::CNAME(c) => next = Some(c.0.to_string().to_ascii_lowercase()),
                _ => {}
            }
        }
        match next {
            Some(target) if found.is_empty() => {
                hops += 1;
                if hops > MAX_CHAIN || seen.len() > MAX_CHAIN || seen.contains(&target) {
                    return Reading::ChainTooLong;
                }
                seen.push(target.clone());
                name = target;
            }
            _ => break,
        }
    }
    if !found.is_empty() {
        found.sort();
        found.dedup();
        return Reading::Addresses(found);
    }
    // The chain ended at a name this answer says nothing more about: a resolver that stopped
    // halfway. Ask for that name (the caller checks `seen` again); otherwise it has none.
    let mentioned = packet
        .answers
        .iter()
        .any(|rr| same_name(&rr.name, &name) && !matches!(rr.rdata, RData::CNAME(_)));
    if hops > 0 && !mentioned {
        seen.pop();
        return Reading::AskFor(name);
    }
    Reading::Nothing
}

fn same_name(a: &Name<'_>, b: &str) -> bool {
    a.to_string().eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// One question and its answer's bytes: UDP, retried, then TCP if the answer was truncated.
fn exchange(
    server: SocketAddr,
    host: &str,
    name: &str,
    qtype: TYPE,
) -> Result<Vec<u8>, ResolveError> {
    let no_answer = |why: String| ResolveError::NoAnswer {
        host: host.to_string(),
        server,
        why,
    };
    let id = query_id(name, qtype);
    let mut query = Packet::new_query(id);
    query.set_flags(PacketFlag::RECURSION_DESIRED);
    let qname = Name::new(name).map_err(|e| no_answer(format!("bad name: {e}")))?;
    query.questions.push(Question::new(
        qname,
        QTYPE::TYPE(qtype),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    let bytes = query
        .build_bytes_vec()
        .map_err(|e| no_answer(format!("cannot build the query: {e}")))?;

    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().unwrap_or(server)
    } else {
        "[::]:0".parse().unwrap_or(server)
    };
    let socket = UdpSocket::bind(bind).map_err(|e| no_answer(e.to_string()))?;
    socket
        .connect(server)
        .map_err(|e| no_answer(e.to_string()))?;
    let mut last = String::from("timed out");
    let question_deadline = Instant::now() + QUESTION_DEADLINE;
    for _ in 0..ATTEMPTS {
        if Instant::now() >= question_deadline {
            break;
        }
        if let Err(e) = socket.send(&bytes) {
            last = e.to_string();
            continue;
        }
        let deadline = (Instant::now() + TIMEOUT).min(question_deadline);
        let mut buf = vec![0u8; 4096];
        // Wait for the answer to this question; anything else (a late answer to an earlier
        // attempt, a stray packet) is skipped.
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match socket.recv(&mut buf) {
                Ok(n) => {
                    let reply = buf.get(..n).unwrap_or_default();
                    let Ok(p) = Packet::parse(reply) else {
                        continue;
                    };
                    if p.id() != id || !answers(&p, name, qtype) {
                        continue;
                    }
                    if p.has_flags(PacketFlag::TRUNCATION) {
                        return tcp(server, &bytes, question_deadline).map_err(no_answer);
                    }
                    return Ok(reply.to_vec());
                }
                Err(e) => {
                    last = match e.kind() {
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                            "timed out".into()
                        }
                        _ => e.to_string(),
                    };
                    break;
                }
            }
        }
    }
    Err(no_answer(format!(
        "{last}, within {} s",
        QUESTION_DEADLINE.as_secs()
    )))
}

/// Whether `p` is the reply to our question (not to some other one with the same id).
fn answers(p: &Packet<'_>, name: &str, qtype: TYPE) -> bool {
    p.questions.len() == 1
        && p.questions
            .first()
            .is_some_and(|q| q.qtype == QTYPE::TYPE(qtype) && same_name(&q.qname, name))
}

/// The same question over TCP (two-byte length before each message), all of it before
/// `deadline`: every read and write waits at most what is left.
fn tcp(server: SocketAddr, query: &[u8], deadline: Instant) -> Result<Vec<u8>, String> {
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!(
                    "timed out over TCP, within {} s",
                    QUESTION_DEADLINE.as_secs()
                )
            })
    };
    let mut s =
        TcpStream::connect_timeout(&server, left()?.min(TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(left()?))
        .map_err(|e| e.to_string())?;
    let len = u16::try_from(query.len()).map_err(|e| e.to_string())?;
    s.write_all(&len.to_be_bytes())
        .and_then(|()| s.write_all(query))
        .map_err(|e| e.to_string())?;
    let mut n = [0u8; 2];
    read_before(&mut s, &mut n, left)?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(n))];
    read_before(&mut s, &mut reply, left)?;
    Ok(reply)
}

/// Fill `buf` from `s`, each read waiting at most what `left` says is left.
fn read_before(
    s: &mut TcpStream,
    buf: &mut [u8],
    left: impl Fn() -> Result<Duration, String>,
) -> Result<(), String> {
    let mut filled = 0;
    while filled < buf.len() {
        s.set_read_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match s.read(rest) {
            Ok(0) => return Err("the server closed the TCP connection early".into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                left()?;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// A query id that an off-path sender cannot guess in advance: hashed from a per-process
/// random seed, the name, the type and the time.
fn query_id(name: &str, qtype: TYPE) -> u16 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    name.hash(&mut h);
    u16::from(qtype).hash(&mut h);
    Instant::now().hash(&mut h);
    (h.finish() & 0xffff) as u16
}

/// `ADDR[:PORT]` for `--dns-server` (port 53 by default; IPv6 with a port as `[ADDR]:PORT`).
pub fn parse_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        format!("`{text}` is not an address or ADDR:PORT (IPv6 with a port: [ADDR]:PORT)")
    })
}

/// The first `nameserver` of resolv.conf text: the resolver this machine uses.
pub fn system_server(resolv_conf: &str) -> Option<SocketAddr> {
    resolv_conf.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("nameserver"))
            .then(|| words.next())
            .flatten()
            .and_then(|a| a.split('%').next())
            .and_then(|a| a.parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        for ok in [
            "a.example",
            "0.rhel.pool.ntp.org",
            "Products.clearswift.net",
            "_x.y.",
        ] {
            assert!(is_host_name(ok), "{ok}");
        }
        for bad in ["", "a..b", "-a.b", "a b", "a\nb", "a.b/c", &"x".repeat(64)] {
            assert!(!is_host_name(bad), "{bad:?}");
        }
    }

    fn reply(answers: Vec<simple_dns::ResourceRecord<'static>>, rcode: RCODE) -> Vec<u8> {
        let mut p = Packet::new_reply(1);
        *p.rcode_mut() = rcode;
        p.answers = answers;
        p.build_bytes_vec().unwrap()
    }

    fn rr(name: &'static str, rdata: RData<'static>) -> simple_dns::ResourceRecord<'static> {
        simple_dns::ResourceRecord::new(Name::new_unchecked(name), CLASS::IN, 60, rdata)
    }

    #[test]
    fn answers_follow_cname_chains_and_refuse_loops() {
        use simple_dns::rdata::{A, CNAME};
        let a = |ip: u32| RData::A(A { address: ip });
        let cname = |to: &'static str| RData::CNAME(CNAME(Name::new_unchecked(to)));
        // A chain inside one answer.
        let r = reply(
            vec![
                rr("x.example", cname("y.example")),
                rr("y.example", a(0xc0000201)),
            ],
            RCODE::NoError,
        );
        let mut seen = vec!["x.example".to_string()];
        assert_eq!(
            read_answer(&r, "X.example", TYPE::A, &mut seen),
            Reading::Addresses(vec!["192.0.2.1".parse().unwrap()])
        );
        // A chain that stops halfway: ask for its end.
        let r = reply(vec![rr("x.example", cname("z.example"))], RCODE::NoError);
        let mut seen = vec!["x.example".to_string()];
        assert_eq!(
            read_answer(&r, "x.example", TYPE::A, &mut seen),
            Reading::AskFor("z.example".into())
        );
        // A loop.
        let r = reply(
            vec![
                rr("x.example", cname("y.example")),
                rr("y.example", cname("x.example")),
            ],
            RCODE::NoError,
        );
        let mut seen = vec!["x.example".to_string()];
        assert_eq!(
            read_answer(&r, "x.example", TYPE::A, &mut seen),
            Reading::ChainTooLong
        );
        // Records for other names do not count; response codes are read.
        let r = reply(vec![rr("evil.example", a(1))], RCODE::NoError);
        assert_eq!(
            read_answer(&r, "x.example", TYPE::A, &mut vec![]),
            Reading::Nothing
        );
        let r = reply(vec![], RCODE::NameError);
        assert_eq!(
            read_answer(&r, "x.example", TYPE::A, &mut vec![]),
            Reading::NoSuchName
        );
        assert!(matches!(
            read_answer(&[1, 2, 3], "x.example", TYPE::A, &mut vec![]),
            Reading::Unreadable(_)
        ));
    }

    #[test]
    fn servers() {
        assert_eq!(parse_server("192.0.2.53").unwrap().port(), 53);
        assert_eq!(parse_server("192.0.2.53:5353").unwrap().port(), 5353);
        assert_eq!(parse_server("[2001:db8::53]:5353").unwrap().port(), 5353);
        assert!(parse_server("dns.example").is_err());
        assert_eq!(
            system_server("# x\nsearch a\nnameserver 192.0.2.1\nnameserver 192.0.2.2\n"),
            Some("192.0.2.1:53".parse().unwrap())
        );
    }
}
