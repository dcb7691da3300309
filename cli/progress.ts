/**
 * Progress on stderr for long inputs, only when stderr is a terminal: packets, MB/s and ETA,
 * redrawn at most a few times a second. Silent otherwise (scripts and CI get clean stderr).
 */
export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream | NodeJS.WritableStream,
    private readonly enabled: boolean,
  ) {}

  static forStderr(): Progress {
    return new Progress(process.stderr, process.stderr.isTTY === true);
  }

  update(label: string, bytesRead: number, totalBytes: number | null, packets: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    const secs = Math.max((now - this.start) / 1000, 0.001);
    const mbps = bytesRead / 1e6 / secs;
    let eta = '';
    if (totalBytes && bytesRead > 0 && bytesRead < totalBytes) {
      const left = ((totalBytes - bytesRead) / bytesRead) * secs;
      eta = ` ETA ${formatSecs(left)}`;
      label += ` ${((bytesRead / totalBytes) * 100).toFixed(1)}%`;
    }
    this.out.write(`\r\x1b[K${label} ${packets.toLocaleString('en-US')} packets ${mbps.toFixed(1)} MB/s${eta}`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}

function formatSecs(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.ceil(s - m * 60)).padStart(2, '0')}s`;
}
