// One place that decides how ambit's processes log: structured JSON lines through pino.
import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Component name stamped on every line, e.g. "ztunnel" or "local-runtime". */
  readonly component: string;
  readonly level?: string;
  /** Where lines go; defaults to stderr so stdout stays free for command output. */
  readonly destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.AMBIT_LOG_LEVEL ?? 'info';
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino({ level, base: { component: options.component }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger that drops everything; for tests and library callers that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
