// A rustls HTTPS client: GET PATH with the API_TOKEN env var as a bearer token to 127.0.0.1:PORT, trusting CA_FILE.
use std::convert::TryFrom;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a' + 26) as u32),
            b'0'..=b'9' => Some((c - b'0' + 52) as u32),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.bytes().filter_map(value) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn certificates(pem: &str) -> Vec<Vec<u8>> {
    pem.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|block| base64_decode(block.split("-----END CERTIFICATE-----").next().unwrap_or("")))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: rustls_client PORT PATH");
        std::process::exit(2);
    }
    let (port, path) = (&args[1], &args[2]);
    let pem = std::fs::read_to_string(std::env::var("CA_FILE").expect("CA_FILE")).expect("CA file");
    let mut roots = rustls::RootCertStore::empty();
    for der in certificates(&pem) {
        roots.add(&rustls::Certificate(der)).expect("CA certificate");
    }
    let config = rustls::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::ServerName::try_from("localhost").expect("name");
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name).expect("connection");
    let mut socket = TcpStream::connect(format!("127.0.0.1:{}", port)).expect("connect");
    let mut tls = rustls::Stream::new(&mut connection, &mut socket);
    let token = std::env::var("API_TOKEN").unwrap_or_default();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: localhost:{}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        path, port, token
    );
    tls.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    println!("{}", text.lines().next().unwrap_or(""));
}
