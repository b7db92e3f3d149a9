//! e2e: a fault-injecting HTTP proxy on 127.0.0.1 in front of moto. Every request is forwarded,
//! except those of one EC2 query action (`Action=…` in the form body), which are held — never
//! forwarded, never answered — until the client closes the connection (e.g. it was killed), or
//! ([`FaultProxy::throttle`]) answered with AWS's throttling error a given number of times, or
//! ([`FaultProxy::deny_assume_role`]) refused with `AccessDenied`; [`FaultProxy::answer`] answers
//! one JSON-protocol operation moto lacks itself. The actions (query `Action`, else the operation
//! of the JSON protocol's `X-Amz-Target`) and form bodies seen are recorded in order
//! ([`FaultProxy::record`] only records).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A running proxy; it stops with the test's runtime.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: put it in the operator's `aws.endpointUrl`.
    pub url: String,
    /// The `Action` of every request, in arrival order: the query protocol's `Action`, else the
    /// operation named by `X-Amz-Target` (`StartQueryExecution`), else `-` (REST: S3).
    pub actions: Arc<Mutex<Vec<String>>>,
    /// The form body of every request, URL-decoded, in arrival order.
    pub forms: Arc<Mutex<Vec<String>>>,
    /// The request line of every request (`GET /bucket/key?x-id=GetObject HTTP/1.1`).
    pub lines: Arc<Mutex<Vec<String>>>,
    held: Arc<Notify>,
    /// Throttling answers still to give (`throttle` proxies).
    throttles_left: Arc<AtomicUsize>,
}

/// AWS's EC2 throttling error, as the query protocol returns it.
const THROTTLED: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/xml;charset=UTF-8\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n{body}";
const THROTTLED_BODY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded (e2e proxy).</Message></Error></Errors><RequestID>e2e-throttle</RequestID></Response>";

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:<port>`) that holds every `hold` request.
    pub async fn start(upstream: &str, hold: &str) -> FaultProxy {
        FaultProxy::launch(upstream, hold, None).await
    }

    /// A proxy that forwards everything and records the actions.
    pub async fn record(upstream: &str) -> FaultProxy {
        FaultProxy::launch(upstream, "", Some(0)).await
    }

    /// A proxy that answers the next `times` requests of `action` with `RequestLimitExceeded`
    /// (HTTP 503, as EC2 throttles), then forwards them.
    pub async fn throttle(upstream: &str, action: &str, times: usize) -> FaultProxy {
        FaultProxy::launch(upstream, action, Some(times)).await
    }

    /// A proxy that refuses `sts:AssumeRole` into any role of `account` with `AccessDenied`
    /// (HTTP 403), as STS does when the role's trust policy does not allow the caller; everything
    /// else is forwarded.
    pub async fn deny_assume_role(upstream: &str, account: &str) -> FaultProxy {
        let body = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to \
             perform: sts:AssumeRole on a role in account {account}</Message></Error>\
             <RequestId>e2e-proxy</RequestId></ErrorResponse>"
        );
        let denial = Denial {
            containing: format!("%3A{account}%3A"),
            body,
        };
        FaultProxy::launch_with(upstream, "AssumeRole", Some(0), Some(denial), None).await
    }

    /// A proxy that answers every request of the JSON-protocol `operation` (an `X-Amz-Target`
    /// ending in `.operation`) with HTTP 200 and `body`, never forwarding it — for an operation
    /// moto does not implement (Athena's GetTableMetadata); everything else is forwarded.
    pub async fn answer(upstream: &str, operation: &str, body: String) -> FaultProxy {
        let canned = Canned {
            operation: operation.to_owned(),
            body,
        };
        FaultProxy::launch_with(upstream, "", Some(0), None, Some(canned)).await
    }

    /// Throttling answers still to give.
    pub fn throttles_left(&self) -> usize {
        self.throttles_left.load(Ordering::SeqCst)
    }

    /// `throttles`: `None` holds requests of `action`; `Some(n)` throttles the next `n`.
    async fn launch(upstream: &str, action: &str, throttles: Option<usize>) -> FaultProxy {
        FaultProxy::launch_with(upstream, action, throttles, None, None).await
    }

    /// [`Self::launch`], and `denial` refuses the requests of `action` it matches, `canned`
    /// answers its operation.
    async fn launch_with(
        upstream: &str,
        action: &str,
        throttles: Option<usize>,
        denial: Option<Denial>,
        canned: Option<Canned>,
    ) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let actions = Arc::new(Mutex::new(Vec::new()));
        let forms = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(Notify::new());
        let throttles_left = Arc::new(AtomicUsize::new(throttles.unwrap_or(0)));
        let fault = Fault {
            action: format!("Action={action}&"),
            hold: throttles.is_none() && !action.is_empty(),
            throttles_left: throttles_left.clone(),
            denial,
            canned,
        };
        let (seen, notify) = (actions.clone(), held.clone());
        let (bodies, heads) = (forms.clone(), lines.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (seen, notify, fault, upstream) = (
                    seen.clone(),
                    notify.clone(),
                    fault.clone(),
                    upstream.clone(),
                );
                let (bodies, heads) = (bodies.clone(), heads.clone());
                tokio::spawn(async move {
                    let record = Record {
                        actions: &seen,
                        forms: &bodies,
                        lines: &heads,
                    };
                    let _ = serve(client, &upstream, &fault, record, &notify).await;
                });
            }
        });
        FaultProxy {
            url,
            actions,
            forms,
            lines,
            held,
            throttles_left,
        }
    }

    /// Waits until a request of the held action has arrived (and is being held).
    pub async fn wait_held(&self) {
        self.held.notified().await;
    }

    /// The actions seen so far.
    pub fn actions(&self) -> Vec<String> {
        self.actions.lock().expect("actions").clone()
    }

    /// The requests (URL-decoded form bodies) that mention `text`, e.g. an account id or a
    /// group id: the calls made on behalf of one test's resources.
    pub fn requests_mentioning(&self, text: &str) -> Vec<String> {
        let forms = self.forms.lock().expect("forms");
        forms.iter().filter(|f| f.contains(text)).cloned().collect()
    }

    /// The requests whose request line contains every one of `parts` (e.g. a bucket name and
    /// `x-id=GetObject`): REST calls such as S3's, which have no form body.
    pub fn lines_with(&self, parts: &[&str]) -> usize {
        let lines = self.lines.lock().expect("lines");
        lines
            .iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .count()
    }
}

/// Where `serve` records what it saw.
struct Record<'a> {
    actions: &'a Mutex<Vec<String>>,
    forms: &'a Mutex<Vec<String>>,
    lines: &'a Mutex<Vec<String>>,
}

/// `%3A` → `:` and `+` → ` `: enough to search form bodies for ARNs and ids.
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the proxy does to requests of one action.
#[derive(Clone)]
struct Fault {
    /// `Action=<name>&`.
    action: String,
    /// Hold them (never answered).
    hold: bool,
    /// Throttle this many more.
    throttles_left: Arc<AtomicUsize>,
    /// Refuse those that also contain this text.
    denial: Option<Denial>,
    /// Answer one JSON-protocol operation ourselves.
    canned: Option<Canned>,
}

/// An answer of the proxy's own to every request of one JSON-protocol operation.
#[derive(Clone)]
struct Canned {
    operation: String,
    body: String,
}

/// A refusal of the proxy's own: requests whose form body contains `containing` (as sent,
/// URL-encoded) are answered 403 with `body`, never forwarded.
#[derive(Clone)]
struct Denial {
    containing: String,
    body: String,
}

impl Fault {
    /// Takes one throttle if any is left.
    fn throttle(&self) -> bool {
        self.throttles_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    fault: &Fault,
    record: Record<'_>,
    held: &Notify,
) -> std::io::Result<()> {
    let (head, body) = read_request(&mut client).await?;
    let form = format!("{}&", String::from_utf8_lossy(&body));
    let target = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("x-amz-target")
            .then(|| v.trim().rsplit('.').next().unwrap_or_default().to_owned())
    });
    let action = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_owned)
        .or(target)
        .unwrap_or_else(|| "-".to_owned());
    let operation = action.clone();
    record.actions.lock().expect("actions").push(action);
    record.forms.lock().expect("forms").push(url_decode(&form));
    let line = head.lines().next().unwrap_or_default().to_owned();
    record.lines.lock().expect("lines").push(line);
    let ours = form.contains(&fault.action);
    if let Some(denial) = fault
        .denial
        .as_ref()
        .filter(|d| ours && form.contains(&d.containing))
    {
        let answer = format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            denial.body.len(),
            denial.body
        );
        client.write_all(answer.as_bytes()).await?;
        return client.shutdown().await;
    }
    if ours && !fault.hold && fault.throttle() {
        let answer = THROTTLED
            .replace("{len}", &THROTTLED_BODY.len().to_string())
            .replace("{body}", THROTTLED_BODY);
        client.write_all(answer.as_bytes()).await?;
        return client.shutdown().await;
    }
    if let Some(canned) = fault.canned.as_ref().filter(|c| c.operation == operation) {
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            canned.body.len(),
            canned.body
        );
        client.write_all(answer.as_bytes()).await?;
        return client.shutdown().await;
    }
    if ours && fault.hold {
        held.notify_one();
        // Held: nothing is forwarded; wait for the client to go away.
        let mut sink = [0u8; 1024];
        while client.read(&mut sink).await? > 0 {}
        return Ok(());
    }
    let mut request: Vec<u8> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .flat_map(|l| format!("{l}\r\n").into_bytes())
        .collect();
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    request.extend_from_slice(&body);
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&request).await?;
    tokio::io::copy(&mut server, &mut client).await?;
    client.shutdown().await
}

/// One HTTP/1.1 request with a `Content-Length` body: (head without the blank line, body).
async fn read_request(client: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buffer[end + 4..].to_vec();
    while body.len() < length {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}
