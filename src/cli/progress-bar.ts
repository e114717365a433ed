/**
 * A one-line progress bar on stderr, for long commands (`keys import`), drawn only when stderr
 * is a terminal and at most ten times a second; elsewhere (a pipe, a log file) it writes
 * nothing, so output stays clean. Terminal writes are synchronous on Linux, so the bar moves
 * even while a database transaction holds the thread.
 */
export interface ProgressBar {
  update(done: number): void;
  done(): void;
}

const WIDTH = 30;

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY || total === 0) return { update() {}, done() {} };
  let drawnAt = 0;
  const draw = (done: number) => {
    const filled = Math.round((done / total) * WIDTH);
    stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done.toLocaleString('en')}/${total.toLocaleString('en')}`);
  };
  return {
    update(done) {
      const now = Date.now();
      if (now - drawnAt < 100 && done < total) return;
      drawnAt = now;
      draw(done);
    },
    done() {
      draw(total);
      stream.write('\n');
    },
  };
}
