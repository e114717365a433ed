import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatMinute, formatNumber } from '../format.ts';
import { cssColour, useThemeName } from '../theme.ts';

export interface ChartLayer {
  label: string;
  /** A palette slot of the stylesheet: `allowed`, or `series-1` … `series-6`. */
  colour: string;
  values: readonly number[];
}

const HEIGHT = 220;

const hourMinute = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
const dayMonth = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short' });

/** Axis labels in 24-hour time, with the date where a day starts; days alone for a week. */
function timeTicks(splits: number[]): string[] {
  const span = (splits.at(-1) ?? 0) - (splits[0] ?? 0);
  return splits.map((seconds) => {
    const date = new Date(seconds * 1000);
    if (span > 2 * 86_400) return dayMonth.format(date);
    return date.getHours() === 0 && date.getMinutes() === 0 ? dayMonth.format(date) : hourMinute.format(date);
  });
}

function compact(value: number): string {
  return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

/**
 * Counts over time as stacked bars, drawn by uPlot on a canvas and coloured from the
 * stylesheet's variables (so it follows the theme). uPlot does not stack: each layer is drawn
 * as the running sum up to it, top layer first, so the lower ones paint over its lower part.
 * A canvas says nothing to a screen reader: the figure has a text summary, the readout names
 * the values under the pointer, and the numbers are in a table below.
 */
export function StackedBars({ times, layers, caption, label }: { times: readonly number[]; layers: readonly ChartLayer[]; caption: string; label: string }) {
  const holder = useRef<HTMLDivElement>(null);
  const theme = useThemeName();
  const [hover, setHover] = useState<number | null>(null);
  const signature = JSON.stringify([times, layers]);

  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    const xs = times.map((time) => time / 1000);
    const sums: number[][] = [];
    let running = xs.map(() => 0);
    for (const layer of layers) {
      running = running.map((value, index) => value + (layer.values[index] ?? 0));
      sums.push(running);
    }
    const topFirst = layers.map((_layer, index) => index).reverse();
    const text = cssColour('--muted');
    const grid = cssColour('--chart-grid');
    const bars = uPlot.paths.bars?.({ size: [0.8, 48], gap: 1 });
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
    const chart = new uPlot(
      {
        width: Math.max(200, element.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        scales: { x: { time: true }, y: { range: (_plot, _min, max) => [0, Math.max(4, max * 1.08)] } },
        axes: [{ ...axis, values: (_plot, splits) => timeTicks(splits) }, { ...axis, size: 48, values: (_plot, splits) => splits.map(compact) }],
        series: [
          {},
          ...topFirst.map((index) => {
            const colour = cssColour(`--${(layers[index] as ChartLayer).colour}`);
            return { label: (layers[index] as ChartLayer).label, fill: colour, stroke: colour, width: 0, paths: bars, points: { show: false } };
          }),
        ],
        hooks: { setCursor: [(plot: uPlot) => setHover(plot.cursor.idx ?? null)] },
      },
      [xs, ...topFirst.map((index) => sums[index] as number[])],
      element,
    );
    const observer = new ResizeObserver(() => chart.setSize({ width: Math.max(200, element.clientWidth), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
    };
  }, [signature, theme]);

  const shown = hover ?? times.length - 1;
  return (
    <figure class="chart">
      <div class="chart-area" ref={holder} role="img" aria-label={caption} />
      <figcaption>
        <span class="chart-readout" aria-hidden="true">
          {times[shown] === undefined ? '' : `${formatMinute(new Date(times[shown]).toISOString())}: ${layers.map((layer) => `${formatNumber(layer.values[shown] ?? 0)} ${layer.label}`).join(', ')}`}
        </span>
        <span class="legend">
          {layers.map((layer) => (
            <span key={layer.label} class="legend-item">
              <span class={`legend-swatch swatch-${layer.colour}`} aria-hidden="true" /> {layer.label}
            </span>
          ))}
        </span>
      </figcaption>
      <details class="chart-data">
        <summary>Show the numbers</summary>
        <div class="table-scroll">
          <table class="table compact">
            <caption class="visually-hidden">{label}</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                {layers.map((layer) => (
                  <th scope="col" class="number" key={layer.label}>
                    {layer.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {times.map((time, index) => (
                <tr key={time}>
                  <th scope="row">{formatMinute(new Date(time).toISOString())}</th>
                  {layers.map((layer) => (
                    <td class="number" key={layer.label}>
                      {formatNumber(layer.values[index] ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

/** Allowed requests, then each refusal code, as chart layers (at most six codes; the rest as `other`). */
export function requestLayers(points: ReadonlyArray<{ requests: number; denied: number; denials?: Record<string, number> }>, codes?: readonly string[]): ChartLayer[] {
  const known = codes ?? [...new Set(points.flatMap((point) => Object.keys(point.denials ?? {})))];
  const shown = known.filter((code) => code !== 'other').slice(0, 6 - (known.includes('other') || known.length > 6 ? 1 : 0));
  const layers: ChartLayer[] = [{ label: 'allowed', colour: 'allowed', values: points.map((point) => Math.max(0, point.requests - point.denied)) }];
  shown.forEach((code, index) => layers.push({ label: code, colour: `series-${index + 1}`, values: points.map((point) => point.denials?.[code] ?? 0) }));
  const rest = points.map((point) => point.denied - shown.reduce((sum, code) => sum + (point.denials?.[code] ?? 0), 0));
  if (rest.some((value) => value > 0)) layers.push({ label: shown.length === 0 ? 'refused' : 'other refusals', colour: 'series-6', values: rest });
  return layers;
}
