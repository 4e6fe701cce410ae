// Public surface of the native socket addon: netns listeners and connects, SO_ORIGINAL_DST, SO_MARK.

export {
  connectInNetns,
  listenInNetns,
  openListenerFd,
  originalDst,
  setMark,
  type ConnectInNetnsOptions,
  type ListenInNetnsOptions,
  type OriginalDst,
} from './sockets';
export { InvalidSocketOption, NativeAddonBroken, NativeAddonMissing, NativeSocketError, type SocketErrorContext } from './errors';
