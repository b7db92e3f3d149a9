//! e2e: a minimal HTTP/1.1 GET for the operator's `/healthz`, `/readyz` and `/metrics`
//! on 127.0.0.1, and a JSON POST for moto's test API — enough for status codes and text bodies,
//! without an HTTP client dependency.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET path` with `Connection: close`: `(status code, body)`. Gives up after 5 s.
pub async fn http_get(address: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    exchange(
        address,
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// `POST path` of a JSON `body`: `(status code, body)`. Gives up after 5 s.
pub async fn http_post_json(
    address: SocketAddr,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(address, request).await
}

async fn exchange(address: SocketAddr, request: String) -> std::io::Result<(u16, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 5 s"))??;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            let first = head.lines().next().unwrap_or_default();
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad status line {first:?}"),
            )
        })?;
    Ok((code, body.to_owned()))
}
