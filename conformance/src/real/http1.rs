//! Just enough HTTP/1.1 for the recording forwarder: requests with a
//! `Content-Length` or chunked body, keep-alive, responses with a
//! `Content-Length`. It runs on tokio's readiness API (`readable` and
//! `try_read`), so it needs no more of tokio than the harness already uses.

use std::io;

use tokio::net::TcpStream;

/// The largest request head read.
const MAX_HEAD: usize = 64 * 1024;

/// The largest request body read (the API's own limits are far smaller).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One request off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRequest {
    /// `GET`, `POST`, ...
    pub(crate) method: String,
    /// The request target: path and query, as sent.
    pub(crate) target: String,
    /// Headers, names in lower case, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (chunked bodies decoded).
    pub(crate) body: Vec<u8>,
}

impl RawRequest {
    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the client asked to close the connection after this request.
    pub(crate) fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"))
    }
}

/// A connection and what has been read from it but not used yet.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

impl Connection {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            self.stream.readable().await?;
            match self.stream.try_read(&mut chunk) {
                Ok(read) => {
                    self.buffer.extend_from_slice(&chunk[..read]);
                    return Ok(read);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Reads until the buffer holds `needle`; its position, or `None` at a
    /// clean end of stream before any byte of a new message.
    async fn find(&mut self, needle: &[u8], limit: usize) -> io::Result<Option<usize>> {
        loop {
            if let Some(position) = self
                .buffer
                .windows(needle.len())
                .position(|window| window == needle)
            {
                return Ok(Some(position));
            }
            if self.buffer.len() > limit {
                return Err(invalid("the request head is too large"));
            }
            if self.fill().await? == 0 {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection closed mid-request",
                    ))
                };
            }
        }
    }

    /// Takes exactly `count` bytes.
    async fn take(&mut self, count: usize) -> io::Result<Vec<u8>> {
        while self.buffer.len() < count {
            if self.fill().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed mid-body",
                ));
            }
        }
        Ok(self.buffer.drain(..count).collect())
    }

    /// Takes one CRLF-terminated line (without the CRLF).
    async fn line(&mut self) -> io::Result<String> {
        let end = self
            .find(b"\r\n", MAX_HEAD)
            .await?
            .ok_or_else(|| invalid("the connection closed mid-body"))?;
        let line = self.take(end + 2).await?;
        Ok(String::from_utf8_lossy(&line[..end]).into_owned())
    }

    /// The next request; `None` when the client closed the connection
    /// between requests.
    pub(crate) async fn next_request(&mut self) -> io::Result<Option<RawRequest>> {
        let Some(end) = self.find(b"\r\n\r\n", MAX_HEAD).await? else {
            return Ok(None);
        };
        let head = self.take(end + 4).await?;
        let head = String::from_utf8_lossy(&head[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let (Some(method), Some(target), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(format!(
                "not an HTTP request line: {request_line:?}"
            )));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(invalid(format!("unsupported version {version}")));
        }
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("not a header line: {line:?}")))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut request = RawRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            body: Vec::new(),
        };
        let chunked = request
            .header("transfer-encoding")
            .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
        if chunked {
            request.body = self.chunked_body().await?;
        } else if let Some(length) = request.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| invalid(format!("bad content-length {length:?}")))?;
            if length > MAX_BODY {
                return Err(invalid("the request body is too large"));
            }
            request.body = self.take(length).await?;
        }
        Ok(Some(request))
    }

    async fn chunked_body(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let size_line = self.line().await?;
            let size = size_line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| invalid(format!("bad chunk size {size_line:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.line().await?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_BODY {
                return Err(invalid("the request body is too large"));
            }
            body.extend(self.take(size).await?);
            self.take(2).await?;
        }
    }

    /// Writes all of `bytes`.
    pub(crate) async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(bytes) {
                Ok(written) => bytes = &bytes[written..],
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Writes a response with a `Content-Length`.
    pub(crate) async fn respond(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> io::Result<()> {
        let reason = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|code| code.canonical_reason())
            .unwrap_or("Unknown");
        let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
        for (name, value) in headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        self.write_all(head.as_bytes()).await?;
        self.write_all(body).await
    }
}
