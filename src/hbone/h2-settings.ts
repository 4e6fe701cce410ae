// HTTP/2 settings of HBONE connections, matching Istio's ztunnel defaults so flow control behaves the same.
import type http2 from 'node:http2';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface Http2Tuning {
  /** Per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE); ztunnel `HTTP2_STREAM_WINDOW_SIZE`, 4 MiB. */
  readonly streamWindowBytes: number;
  /** Whole-connection receive window, raised with WINDOW_UPDATE on stream 0; ztunnel `HTTP2_CONNECTION_WINDOW_SIZE`, 16 MiB. */
  readonly connectionWindowBytes: number;
  /** SETTINGS_MAX_FRAME_SIZE; ztunnel `HTTP2_FRAME_SIZE`, 1 MiB. */
  readonly maxFrameBytes: number;
}

export const DEFAULT_HTTP2_TUNING: Http2Tuning = Object.freeze({
  streamWindowBytes: 4 * MiB,
  connectionWindowBytes: 16 * MiB,
  maxFrameBytes: 1 * MiB,
});

/** Server side: ztunnel allows 200 concurrent streams and a 64 KiB header list. */
export const SERVER_MAX_CONCURRENT_STREAMS = 200;
export const SERVER_MAX_HEADER_LIST_BYTES = 64 * KiB;
/** Client side: ztunnel's client accepts a 16 KiB header list and never allows push. */
export const CLIENT_MAX_HEADER_LIST_BYTES = 16 * KiB;

// Node's default session budget (10 MB) counts frames buffered for slow readers; a full connection window of
// data for paused streams must fit, or nghttp2 answers ENHANCE_YOUR_CALM and kills every tunnel on the connection.
const SESSION_MEMORY_MB = 64;

export function serverHttp2Options(tuning: Http2Tuning): http2.ServerOptions {
  return {
    settings: {
      enablePush: false,
      maxConcurrentStreams: SERVER_MAX_CONCURRENT_STREAMS,
      initialWindowSize: tuning.streamWindowBytes,
      maxFrameSize: tuning.maxFrameBytes,
      maxHeaderListSize: SERVER_MAX_HEADER_LIST_BYTES,
    },
    maxSessionMemory: SESSION_MEMORY_MB,
  };
}

export function clientHttp2Options(tuning: Http2Tuning): http2.ClientSessionOptions {
  return {
    settings: {
      enablePush: false,
      initialWindowSize: tuning.streamWindowBytes,
      maxFrameSize: tuning.maxFrameBytes,
      maxHeaderListSize: CLIENT_MAX_HEADER_LIST_BYTES,
    },
    maxSessionMemory: SESSION_MEMORY_MB,
  };
}

/** Raises the connection-level receive window; SETTINGS cannot, only a WINDOW_UPDATE on stream 0 can. */
export function applyConnectionWindow(session: http2.Http2Session, tuning: Http2Tuning): void {
  if (session.destroyed) return;
  session.setLocalWindowSize(tuning.connectionWindowBytes);
}
