interface Circuit {
  failures: number;
  /** When the circuit opened (ms); null: closed. */
  openedAt: number | null;
  /** A half-open circuit has let one request through to probe the upstream; the others wait for its result. */
  probing: boolean;
}

export type Admission = { allowed: true; probe: boolean } | { allowed: false; retryAfterSeconds: number };

/**
 * One circuit per upstream, on this instance: `threshold` failures in a row open it, and while it
 * is open no request is sent (the caller answers 503 with Retry-After). After `openMs` one request
 * is let through as a probe: its success closes the circuit, its failure opens it again.
 */
export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly now: () => number;

  constructor(threshold: number, openMs: number, now: () => number = Date.now) {
    this.threshold = threshold;
    this.openMs = openMs;
    this.now = now;
  }

  admit(key: string): Admission {
    const circuit = this.circuits.get(key);
    if (!circuit || circuit.openedAt === null) return { allowed: true, probe: false };
    const openFor = this.now() - circuit.openedAt;
    if (openFor < this.openMs || circuit.probing) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((this.openMs - openFor) / 1000)) };
    }
    circuit.probing = true;
    return { allowed: true, probe: true };
  }

  succeeded(key: string): void {
    this.circuits.delete(key);
  }

  failed(key: string): void {
    const circuit = this.circuits.get(key) ?? { failures: 0, openedAt: null, probing: false };
    circuit.failures += 1;
    if (circuit.probing || circuit.failures >= this.threshold) circuit.openedAt = this.now();
    circuit.probing = false;
    this.circuits.set(key, circuit);
  }

  /** A request that ended with no verdict on the upstream (the caller went away, its body was too large): a probe may go again. */
  released(key: string): void {
    const circuit = this.circuits.get(key);
    if (circuit) circuit.probing = false;
  }

  isOpen(key: string): boolean {
    return this.circuits.get(key)?.openedAt != null;
  }
}
