// Reading failures of Kubernetes API calls: the HTTP status and the server's own message, whichever client path raised them.

export class KubeApiError extends Error {
  readonly code = 'KUBE_API_ERROR' as const;
  constructor(
    /** What ambit was doing, e.g. "create Deployment istio-system/ambit-controlplane". */
    readonly operation: string,
    /** HTTP status, 0 when the server was not reached. */
    readonly status: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${status === 0 ? '' : `${status} `}${reason}`, options);
    this.name = 'KubeApiError';
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * The HTTP status of a failed call: ApiException carries `code`, the watch's fetch errors `statusCode`; a Status
 * body may arrive as a string or an object. Undefined for network errors.
 */
export function statusOf(error: unknown): number | undefined {
  const fields = record(error);
  if (!fields) return undefined;
  for (const key of ['code', 'statusCode']) {
    const value = fields[key];
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  }
  return undefined;
}

/** The server's message from a Status body when there is one, else the error's own message. */
export function reasonOf(error: unknown): string {
  if (error instanceof KubeApiError) return error.message;
  const fields = record(error);
  let body: unknown = fields?.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.trim() || String(error);
    }
  }
  const message = record(body)?.message;
  if (typeof message === 'string' && message !== '') return message;
  if (error instanceof Error) {
    const cause = record(error.cause);
    return typeof cause?.message === 'string' && cause.message !== error.message ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

export function apiError(operation: string, error: unknown): KubeApiError {
  return new KubeApiError(operation, statusOf(error) ?? 0, reasonOf(error), { cause: error });
}
