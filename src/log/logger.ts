// Where tsrun's own messages go. With --log they are appended to that file
// (text, or JSON lines {"level","msg","time"} that containerd and podman
// parse); errors, and the warnings a user must see, are also printed once to
// stderr. Nothing else is printed.
import { appendFileSync } from 'node:fs';
import { writeStderr } from './write-fd';

export type LogFormat = 'text' | 'json';
type Level = 'debug' | 'info' | 'warning' | 'error';

interface LoggerConfig {
  file?: string;
  format: LogFormat;
  debug: boolean;
}

let config: LoggerConfig = { format: 'text', debug: false };

export function configureLogger(next: Partial<LoggerConfig>): void {
  config = { ...config, ...next };
}

function record(level: Level, msg: string): void {
  if (!config.file) return;
  const time = new Date().toISOString();
  const line = config.format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(config.file, line + '\n');
  } catch {
    // a log file we cannot write must not turn success into failure
  }
}

export function logDebug(msg: string): void {
  if (config.debug) record('debug', msg);
}

export function logWarning(msg: string): void {
  record('warning', msg);
}

/**
 * A warning the user must see (a failed poststart or poststop hook): recorded
 * in the log and printed to stderr as one line, with runc's "warning" word.
 */
export function warn(msg: string): void {
  record('warning', msg);
  writeStderr(`tsrun: warning: ${msg}\n`);
}

/** Records the error and prints it to stderr as one line. */
export function logError(msg: string): void {
  record('error', msg);
  writeStderr(`tsrun: ${msg}\n`);
}
