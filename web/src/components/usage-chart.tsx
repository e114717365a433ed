import { useEffect, useRef, useState } from 'preact/hooks';
import type { UsagePoint } from '../api.ts';
import { formatNumber } from '../format.ts';

const HEIGHT = 200;
const PAD = { top: 12, right: 8, bottom: 26, left: 40 };
/** Room for one time label on the axis. */
const LABEL_WIDTH = 64;

function niceMaximum(value: number): number {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function timeLabel(iso: string, stepSeconds: number): string {
  const date = new Date(iso);
  return stepSeconds >= 3600 ? date.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric' }) : date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

/** The width the chart really has, so its text stays at its real size at every screen width. */
function useWidth(): [{ current: HTMLDivElement | null }, number] {
  const element = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  useEffect(() => {
    if (element.current === null) return;
    const observer = new ResizeObserver(([entry]) => entry && setWidth(Math.max(200, Math.floor(entry.contentRect.width))));
    observer.observe(element.current);
    return () => observer.disconnect();
  }, []);
  return [element, width];
}

/**
 * Requests per step as stacked bars (allowed below, refused above), drawn as SVG so it needs
 * no library and no inline styles. Screen readers get the summary in the figure's caption.
 */
export function UsageChart({ points, step, caption }: { points: UsagePoint[]; step: number; caption: string }) {
  const [area, width] = useWidth();
  const maximum = niceMaximum(Math.max(0, ...points.map((point) => point.requests)));
  const plotWidth = width - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, points.length);
  const barWidth = Math.max(1, slot * 0.7);
  const y = (value: number) => PAD.top + plotHeight - (value / maximum) * plotHeight;
  const labelEvery = Math.max(1, Math.ceil(points.length / Math.max(2, Math.floor(plotWidth / LABEL_WIDTH))));
  return (
    <figure class="chart">
      <div class="chart-area" ref={area}>
        <svg width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-label={caption}>
          {[0, 0.5, 1].map((fraction) => (
            <g key={fraction}>
              <line class="chart-grid" x1={PAD.left} x2={width - PAD.right} y1={y(maximum * fraction)} y2={y(maximum * fraction)} />
              <text class="chart-axis" x={PAD.left - 6} y={y(maximum * fraction) + 4} text-anchor="end">
                {formatNumber(maximum * fraction)}
              </text>
            </g>
          ))}
          {points.map((point, index) => {
            const x = PAD.left + index * slot + (slot - barWidth) / 2;
            const allowed = Math.max(0, point.requests - point.denied);
            return (
              <g key={point.t}>
                <title>{`${timeLabel(point.t, step)}: ${point.requests} requests, ${point.denied} refused`}</title>
                {allowed > 0 && <rect class="chart-allowed" x={x} width={barWidth} y={y(allowed)} height={y(0) - y(allowed)} />}
                {point.denied > 0 && <rect class="chart-denied" x={x} width={barWidth} y={y(point.requests)} height={y(allowed) - y(point.requests)} />}
                {index % labelEvery === 0 && (
                  <text class="chart-axis" x={Math.min(Math.max(x + barWidth / 2, PAD.left + 14), width - 18)} y={HEIGHT - 8} text-anchor="middle">
                    {timeLabel(point.t, step)}
                  </text>
                )}
              </g>
            );
          })}
        </svg>
      </div>
      <figcaption>
        {caption}
        <span class="legend">
          <span class="legend-swatch chart-allowed" aria-hidden="true" /> allowed
          <span class="legend-swatch chart-denied" aria-hidden="true" /> refused
        </span>
      </figcaption>
    </figure>
  );
}
