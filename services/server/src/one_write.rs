//! How a small answer leaves the server: in one write, one TCP segment.
//!
//! h2 copies a DATA frame into its write buffer only when the frame is small:
//! under 256 bytes on a connection that takes vectored writes, under 1 KiB
//! ([`COPIED_BELOW`]) on one that does not. A larger frame is kept aside, and
//! h2 flushes it before it queues the next frame, so the trailers of a unary
//! answer of 256 bytes or more left in a second write: two system calls and two
//! TCP segments per call, and two wake-ups of the client. A cached advisory
//! look-up (about 700 bytes) paid for it with about a sixth of its throughput
//! (docs/performance.md, "one write per answer").
//!
//! Two halves make an answer of up to [`HOLD`] bytes leave in one write:
//! - [`Socket`], each connection's TCP stream, holds small writes until the
//!   flush, and tells h2, which writes to it directly on a plaintext
//!   connection, that it takes no vectored writes: h2's threshold becomes 1 KiB;
//! - [`SmallFramesLayer`] cuts such an answer's frames into pieces under that
//!   threshold, which h2 copies and flushes with the trailers.
//!
//! Over TLS, h2 writes to rustls's stream, which takes vectored writes: the
//! threshold stays 256 bytes and pieces would each be flushed, so frames are
//! left whole there. Rustls writes its records to a [`Socket`] all the same.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::Connected;

/// The most a connection holds before it writes, and the largest answer whose
/// frames are cut: a small answer whole, little beside h2's own 16 KiB buffer.
const HOLD: usize = 4 * 1024;

/// h2 copies a DATA frame shorter than this into its write buffer when the
/// connection takes no vectored writes (h2's `CHAIN_THRESHOLD_WITHOUT_VECTORED_IO`).
const COPIED_BELOW: usize = 1024;

/// The size of the pieces [`SmallFramesLayer`] cuts.
const PIECE: usize = COPIED_BELOW - 24;

/// A gRPC connection's stream, holding small writes until the flush.
#[derive(Debug)]
pub(crate) struct Socket<S = TcpStream> {
    stream: S,
    /// Accepted and not yet sent: sent at the next flush, or ahead of the next
    /// write too large to hold.
    held: Vec<u8>,
}

impl<S> Socket<S> {
    pub(crate) fn new(stream: S) -> Self {
        Self {
            stream,
            held: Vec::new(),
        }
    }
}

impl<S: AsyncWrite + Unpin> Socket<S> {
    /// Sends what is held.
    fn poll_send_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            let sent = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.held))?;
            if sent == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.held.drain(..sent);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: Connected> Connected for Socket<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Socket<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Socket<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.held.len() + buf.len() <= HOLD {
            me.held.extend_from_slice(buf);
            return Poll::Ready(Ok(buf.len()));
        }
        // Too much to hold: what is held leaves first, in the same system call.
        while !me.held.is_empty() {
            let parts = [IoSlice::new(&me.held), IoSlice::new(buf)];
            let sent = ready!(Pin::new(&mut me.stream).poll_write_vectored(cx, &parts))?;
            if sent == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if sent > me.held.len() {
                let of_buf = sent - me.held.len();
                me.held.clear();
                return Poll::Ready(Ok(of_buf));
            }
            me.held.drain(..sent);
        }
        Pin::new(&mut me.stream).poll_write(cx, buf)
    }

    /// Holds every slice when they all fit (rustls writes its records so);
    /// otherwise writes as [`Self::poll_write`] does with the first one.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if self.held.len() + total <= HOLD {
            let me = self.get_mut();
            bufs.iter().for_each(|b| me.held.extend_from_slice(b));
            return Poll::Ready(Ok(total));
        }
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
        self.poll_write(cx, first)
    }

    /// `false`, although every write is taken: that raises h2's threshold.
    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_send_held(cx))?;
        Pin::new(&mut me.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_send_held(cx))?;
        Pin::new(&mut me.stream).poll_shutdown(cx)
    }
}

/// Cuts the frames of an answer of 1 to 4 KiB into pieces h2 copies
/// ([`SmallFrames`]); on a TLS listener, leaves them whole.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SmallFramesLayer {
    cut: bool,
}

impl SmallFramesLayer {
    /// The layer of a listener served over TLS (`tls`) or plaintext.
    pub(crate) fn new(tls: bool) -> Self {
        Self { cut: !tls }
    }
}

impl<S> tower::Layer<S> for SmallFramesLayer {
    type Service = SmallFramesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SmallFramesService { inner, cut: self.cut }
    }
}

/// The service of [`SmallFramesLayer`].
#[derive(Clone, Debug)]
pub(crate) struct SmallFramesService<S> {
    inner: S,
    cut: bool,
}

impl<S, R, B> tower::Service<R> for SmallFramesService<S>
where
    S: tower::Service<R, Response = http::Response<B>>,
{
    type Response = http::Response<SmallFrames<B>>;
    type Error = S::Error;
    type Future = SmallFramesFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        SmallFramesFuture {
            inner: self.inner.call(request),
            cut: self.cut,
        }
    }
}

pin_project! {
    /// The answer future of [`SmallFramesService`].
    pub(crate) struct SmallFramesFuture<F> {
        #[pin]
        inner: F,
        cut: bool,
    }
}

impl<F, B, E> Future for SmallFramesFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<SmallFrames<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let cut = *this.cut;
        let answer = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(answer.map(|inner| SmallFrames {
            inner,
            rest: Bytes::new(),
            cut,
        })))
    }
}

/// An answer's body, its frames of 1 to 4 KiB cut into pieces under h2's
/// copy threshold (when `cut`).
#[derive(Debug)]
pub(crate) struct SmallFrames<B> {
    inner: B,
    /// What is left of the frame being cut.
    rest: Bytes,
    cut: bool,
}

impl<B: Body<Data = Bytes> + Unpin> Body for SmallFrames<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let me = self.get_mut();
        if me.rest.is_empty() {
            let frame = ready!(Pin::new(&mut me.inner).poll_frame(cx));
            let Some(Ok(frame)) = frame else {
                return Poll::Ready(frame);
            };
            match frame.into_data() {
                Ok(data) if me.cut && (COPIED_BELOW..=HOLD).contains(&data.len()) => me.rest = data,
                Ok(data) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Err(other) => return Poll::Ready(Some(Ok(other))),
            }
        }
        let piece = me.rest.split_to(PIECE.min(me.rest.len()));
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        let rest = self.rest.len() as u64;
        hint.set_lower(hint.lower() + rest);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + rest);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tonic::transport::server::TcpConnectInfo;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    /// A connected pair: our socket, and the peer's plain stream.
    async fn pair() -> (Socket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, (server, _)) = tokio::join!(client, async { listener.accept().await.unwrap() });
        (Socket::new(server), client.unwrap())
    }

    /// Whether the peer has anything to read within 50 ms.
    async fn peer_has_bytes(peer: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        tokio::time::timeout(Duration::from_millis(50), peer.peek(&mut byte))
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn small_writes_wait_for_the_flush_and_leave_together() {
        let (mut socket, mut peer) = pair().await;
        socket.write_all(b"headers|").await.unwrap();
        socket.write_all(&[b'd'; 700]).await.unwrap();
        socket.write_all(b"|trailers").await.unwrap();
        assert!(
            !peer_has_bytes(&mut peer).await,
            "a small write was sent before the flush"
        );
        socket.flush().await.unwrap();
        let mut got = vec![0u8; 8 + 700 + 9];
        peer.read_exact(&mut got).await.unwrap();
        assert!(got.starts_with(b"headers|d") && got.ends_with(b"d|trailers"));
    }

    #[tokio::test]
    async fn a_large_write_sends_what_is_held_ahead_of_it() {
        let (mut socket, mut peer) = pair().await;
        socket.write_all(b"head").await.unwrap();
        let large: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; 4 + 256 * 1024 + 4];
            peer.read_exact(&mut got).await.unwrap();
            got
        });
        socket.write_all(&large).await.unwrap();
        socket.write_all(b"tail").await.unwrap();
        socket.flush().await.unwrap();
        let got = reader.await.unwrap();
        assert_eq!(&got[..4], b"head");
        assert_eq!(&got[4..4 + large.len()], &large[..]);
        assert_eq!(&got[4 + large.len()..], b"tail");
    }

    #[tokio::test]
    async fn vectored_writes_are_held_too_and_shutdown_sends_them() {
        let (mut socket, mut peer) = pair().await;
        let parts = [IoSlice::new(b"last "), IoSlice::new(b"words")];
        assert_eq!(socket.write_vectored(&parts).await.unwrap(), 10);
        assert!(
            !peer_has_bytes(&mut peer).await,
            "a small write was sent before the flush"
        );
        socket.shutdown().await.unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
    }

    /// A TCP stream that counts the writes that sent something.
    struct Counted {
        stream: TcpStream,
        writes: Arc<AtomicUsize>,
    }

    impl Counted {
        fn count(&self, sent: &Poll<io::Result<usize>>) {
            if let Poll::Ready(Ok(1..)) = sent {
                self.writes.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    impl Connected for Counted {
        type ConnectInfo = TcpConnectInfo;

        fn connect_info(&self) -> TcpConnectInfo {
            self.stream.connect_info()
        }
    }

    impl AsyncRead for Counted {
        fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Counted {
        fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            let me = self.get_mut();
            let sent = Pin::new(&mut me.stream).poll_write(cx, buf);
            me.count(&sent);
            sent
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let me = self.get_mut();
            let sent = Pin::new(&mut me.stream).poll_write_vectored(cx, bufs);
            me.count(&sent);
            sent
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().stream).poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
        }
    }

    /// A unary gRPC answer: one message, then the trailers.
    struct Unary {
        message: Option<Bytes>,
        trailers: Option<http::HeaderMap>,
    }

    impl Body for Unary {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            let me = self.get_mut();
            let frame = match me.message.take() {
                Some(message) => Frame::data(message),
                None => match me.trailers.take() {
                    Some(trailers) => Frame::trailers(trailers),
                    None => return Poll::Ready(None),
                },
            };
            Poll::Ready(Some(Ok(frame)))
        }
    }

    /// A health check answer whose DATA frame is `size` bytes: an unknown
    /// field (15) pads it, which the client skips.
    fn padded_answer(size: usize) -> Bytes {
        let mut padding_len = size - 5 - 1 - 3;
        let mut message = vec![0x7a];
        // A three-byte varint length: 16 KiB up to 2 MiB.
        message.extend([
            (padding_len as u8 & 0x7f) | 0x80,
            ((padding_len >> 7) as u8 & 0x7f) | 0x80,
        ]);
        message.push((padding_len >> 14) as u8);
        message.resize(message.len() + padding_len, b'p');
        padding_len = message.len();
        let mut frame = vec![0u8];
        frame.extend((padding_len as u32).to_be_bytes());
        frame.extend(message);
        assert_eq!(frame.len(), size);
        Bytes::from(frame)
    }

    /// The fewest writes the server made for one of three calls answered with
    /// a DATA frame of `size` bytes, through `SmallFramesLayer::new(tls)`.
    async fn writes_per_answer(size: usize, tls: bool) -> usize {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writes = Arc::new(AtomicUsize::new(0));
        let counter = writes.clone();
        let incoming = futures_util::stream::unfold(listener, move |listener| {
            let writes = counter.clone();
            async move {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                Some((Ok::<_, io::Error>(Socket::new(Counted { stream, writes })), listener))
            }
        });
        let answer = padded_answer(size);
        let service = tower::service_fn(move |_: http::Request<tonic::body::Body>| {
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
            let body = Unary {
                message: Some(answer.clone()),
                trailers: Some(trailers),
            };
            let response = http::Response::builder()
                .header("content-type", "application/grpc")
                .body(body)
                .unwrap();
            async move { Ok::<_, Infallible>(response) }
        });
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .layer(SmallFramesLayer::new(tls))
                .serve_with_incoming(service, incoming),
        );
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = HealthClient::new(channel);
        let mut fewest = usize::MAX;
        for _ in 0..4 {
            let before = writes.load(Ordering::SeqCst);
            client.check(HealthCheckRequest::default()).await.unwrap();
            fewest = fewest.min(writes.load(Ordering::SeqCst) - before);
        }
        server.abort();
        fewest
    }

    #[tokio::test]
    async fn an_answer_of_up_to_4_kib_leaves_in_one_write() {
        for size in [700, 2_000, HOLD - 200] {
            assert_eq!(writes_per_answer(size, false).await, 1, "an answer of {size} bytes");
        }
    }

    #[tokio::test]
    async fn a_larger_answer_takes_two_writes_and_tls_frames_are_left_whole() {
        // One DATA frame (under 16 KiB) kept aside by h2, then the trailers.
        assert_eq!(writes_per_answer(10_000, false).await, 2);
        // Whole frames above h2's threshold: the trailers leave on their own.
        assert_eq!(writes_per_answer(2_000, true).await, 2);
    }
}
