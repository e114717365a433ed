/**
 * `npm run bench:scale-chart [results.json] [out.svg]`: draws how cost grows (docs/benchmarks.md)
 * from a `npm run bench:scale` results file (default: the newest `.bench/scale-*.json`) into an
 * SVG (default: docs/images/scale-costs.svg): for each comparison of the run, its paired req/s,
 * CPU per request, resident memory and start-up time as ratios to its baseline, beside the A/A
 * pair of the same run, with 1.0 (no cost) marked.
 *
 * Drawn with Vega-Lite (rendered to SVG by Vega, headless, no browser or canvas): a chart
 * library made for this, rather than hand-written SVG; a dev dependency only.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/** What the chart reads of a results file (bench/scale.ts writes it). */
export interface ScaleResults {
  startedAt: string;
  parts: Array<{
    title: string;
    ratios: Array<{ target: string; baseline: string; paired: { requestsPerSecond: number | null; serverCpuPerRequest: number | null } }>;
    scale: Array<{ name: string; startupMs: number | null; rssMb: number | null }>;
  }>;
}

export interface ChartPoint {
  comparison: string;
  measure: 'req/s (paired)' | 'CPU per request' | 'resident memory' | 'start-up';
  ratio: number;
}

/** One point per comparison and measure that the run has a figure for. */
export function chartPoints(results: ScaleResults): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const part of results.parts) {
    const scaleOf = new Map(part.scale.map((row) => [row.name, row]));
    for (const ratio of part.ratios) {
      const comparison = `${ratio.target} / ${ratio.baseline}${ratio.target === `${ratio.baseline}-again` ? ' (A/A)' : ''}`;
      const add = (measure: ChartPoint['measure'], value: number | null | undefined) => {
        if (value !== null && value !== undefined && Number.isFinite(value)) points.push({ comparison, measure, ratio: value });
      };
      add('req/s (paired)', ratio.paired.requestsPerSecond);
      add('CPU per request', ratio.paired.serverCpuPerRequest);
      const [target, baseline] = [scaleOf.get(ratio.target), scaleOf.get(ratio.baseline)];
      if (target && baseline) {
        add('resident memory', target.rssMb !== null && baseline.rssMb ? target.rssMb / baseline.rssMb : null);
        add('start-up', target.startupMs !== null && baseline.startupMs ? target.startupMs / baseline.startupMs : null);
      }
    }
  }
  return points;
}

/** The chart as SVG text. */
export async function renderScaleChart(points: readonly ChartPoint[], subtitle: string): Promise<string> {
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'How cost grows: each row against its small baseline (1.0 = no cost)', subtitle },
    data: { values: points.map((point) => ({ ...point })) },
    facet: { row: { field: 'measure', type: 'nominal', title: null, sort: ['req/s (paired)', 'CPU per request', 'resident memory', 'start-up'], header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontWeight: 'bold' } } },
    spec: {
      width: 420,
      height: { step: 16 },
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            y: { field: 'comparison', type: 'nominal', title: null, axis: { labelLimit: 320 } },
            x: { field: 'ratio', type: 'quantitative', title: 'ratio to baseline' },
            color: { field: 'measure', type: 'nominal', legend: null },
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 3 },
          encoding: {
            y: { field: 'comparison', type: 'nominal' },
            x: { field: 'ratio', type: 'quantitative' },
            text: { field: 'ratio', type: 'quantitative', format: '.2f' },
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 3] }, encoding: { x: { datum: 1 } } },
      ],
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

function newestResults(directory: string): string {
  const files = readdirSync(directory).filter((name) => /^scale-.*\.json$/.test(name)).sort();
  if (files.length === 0) throw new Error(`no scale-*.json in ${directory}: run npm run bench:scale first`);
  return join(directory, files.at(-1)!);
}

async function main(): Promise<void> {
  const repoRoot = resolve(import.meta.dirname, '..');
  const [input = newestResults(join(repoRoot, '.bench')), output = join(repoRoot, 'docs/images/scale-costs.svg')] = process.argv.slice(2);
  const results = JSON.parse(readFileSync(input, 'utf8')) as ScaleResults;
  const points = chartPoints(results);
  if (points.length === 0) throw new Error(`${input} has no comparisons to draw`);
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, await renderScaleChart(points, `npm run bench:scale, ${results.startedAt.slice(0, 10)} (${input.split('/').at(-1)})`));
  process.stderr.write(`wrote ${output} (${points.length} bars) from ${input}\n`);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench:scale-chart failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
