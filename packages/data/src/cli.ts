#!/usr/bin/env node
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { orientationCode } from './affine.js';
import { type DatasetProblem, listDataset, validateItem } from './dataset.js';
import { DataError } from './errors.js';
import { readNifti } from './nifti-read.js';
import { writeNifti } from './nifti-write.js';
import { type PreprocessOptions, preprocessFile, resolvePreprocess } from './preprocess.js';
import { intensityStats } from './volume.js';

const USAGE = `usage:
  mim-data inspect <file.nii[.gz]> [--json]
  mim-data preprocess <in.nii[.gz]> <out.nii[.gz]> [--spacing 1.5|x,y,z|none] [--orient RAS|none]
                      [--window -175,250|none] [--pad 96|x,y,z|none] [--no-crop-foreground]
                      [--label <label.nii.gz> --label-out <out-label.nii.gz>]
  mim-data validate <folder|dataset.json|file> [--split training] [--quick]`;

class UsageError extends Error {}

function numbers(value: string, what: string, count: number[]): number[] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (!count.includes(parts.length) || parts.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--${what} expects ${count.join(' or ')} comma-separated numbers, got "${value}"`);
  }
  return parts;
}

function format(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(6).replace(/\.?0+$/, '');
}

function inspect(args: string[]): void {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one file');
  const file = positionals[0];
  const image = readNifti(file);
  const stats = intensityStats(image.data);
  const report = {
    file,
    datatype: image.header.datatype,
    dims: image.shape,
    spacing: image.header.spacing,
    affine: image.affine,
    orientation: orientationCode(image.affine),
    min: stats.min,
    max: stats.max,
    mean: stats.mean,
    std: stats.std,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const h = image.header;
  const lines = [
    ['file', file],
    [
      'format',
      `NIfTI-${h.version}, ${h.littleEndian ? 'little' : 'big'}-endian${file.endsWith('.gz') ? ', gzip' : ''}`,
    ],
    [
      'datatype',
      `${h.datatype}${h.sclSlope && (h.sclSlope !== 1 || h.sclInter) ? ` (scl_slope ${format(h.sclSlope)}, scl_inter ${format(h.sclInter)})` : ''}`,
    ],
    ['dims', image.shape.join(' × ')],
    ['spacing', `${h.spacing.map(format).join(' × ')} mm`],
    [
      'orientation',
      `${report.orientation} (affine from ${h.affineSource}; qform_code ${h.qformCode}, sform_code ${h.sformCode})`,
    ],
    [
      'affine',
      image.affine.map((row) => `[${row.map((v) => format(v).padStart(10)).join(' ')} ]`).join('\n             '),
    ],
    [
      'intensity',
      `min ${format(stats.min)}  max ${format(stats.max)}  mean ${format(stats.mean)}  std ${format(stats.std)}`,
    ],
  ];
  for (const [key, value] of lines) process.stdout.write(`${key.padEnd(13)}${value}\n`);
}

/** `--window -175,250` → `--window=-175,250` (parseArgs refuses values that start with a dash). */
function attachNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (/^--(window|spacing|pad)$/.test(args[i]) && /^-\d/.test(args[i + 1] ?? '')) {
      out.push(`${args[i]}=${args[i + 1]}`);
      i++;
    } else out.push(args[i]);
  }
  return out;
}

function preprocess(args: string[]): void {
  const { values, positionals } = parseArgs({
    args: attachNegativeValues(args),
    options: {
      spacing: { type: 'string' },
      orient: { type: 'string' },
      window: { type: 'string' },
      pad: { type: 'string' },
      'no-crop-foreground': { type: 'boolean' },
      label: { type: 'string' },
      'label-out': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 2) throw new UsageError('preprocess takes an input and an output file');
  if (Boolean(values.label) !== Boolean(values['label-out'])) {
    throw new UsageError('--label and --label-out go together');
  }
  const options: Partial<PreprocessOptions> = {};
  if (values.spacing !== undefined) {
    if (values.spacing === 'none') options.spacing = null;
    else {
      const spacing = numbers(values.spacing, 'spacing', [1, 3]);
      options.spacing = spacing.length === 1 ? spacing[0] : (spacing as [number, number, number]);
    }
  }
  if (values.orient !== undefined) options.orientation = values.orient === 'none' ? null : values.orient;
  if (values.window !== undefined) {
    if (values.window === 'none') options.window = null;
    else {
      const [aMin, aMax] = numbers(values.window, 'window', [2]);
      options.window = { aMin, aMax };
    }
  }
  if (values.pad !== undefined) {
    if (values.pad === 'none') options.padTo = null;
    else {
      const pad = numbers(values.pad, 'pad', [1, 3]);
      options.padTo = (pad.length === 1 ? [pad[0], pad[0], pad[0]] : pad) as [number, number, number];
    }
  }
  if (values['no-crop-foreground']) options.cropForeground = false;
  const resolved = resolvePreprocess(options);
  const started = performance.now();
  const [input, output] = positionals;
  const sample = preprocessFile(input, values.label, resolved);
  writeNifti(output, sample.image, { datatype: 'float32' });
  if (sample.label && values['label-out']) writeNifti(values['label-out'], sample.label);
  const milliseconds = performance.now() - started;
  process.stdout.write(
    `${basename(input)} → ${output}: ${sample.image.shape.join('×')} ${orientationCode(sample.image.affine)} (${milliseconds.toFixed(0)} ms)\n`,
  );
}

function validate(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: { split: { type: 'string' }, quick: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('validate takes one folder, dataset.json or file');
  const source = positionals[0];
  const items = /\.nii(\.gz)?$/i.test(source) ? [{ image: source }] : listDataset(source, { split: values.split });
  const problems: DatasetProblem[] = [];
  for (const item of items) problems.push(...validateItem(item, values.quick ? 'header' : 'full'));
  const files = items.reduce((n, item) => n + (item.label ? 2 : 1), 0);
  if (problems.length === 0) {
    process.stdout.write(`${source}: ${items.length} items (${files} files) checked, no problems\n`);
    return 0;
  }
  const width = Math.min(70, Math.max(4, ...problems.map((p) => p.file.length)));
  process.stdout.write(`${'file'.padEnd(width)}  ${'problem'.padEnd(20)}  details\n`);
  for (const p of problems) {
    const detail = p.message.startsWith(`${p.file}: `) ? p.message.slice(p.file.length + 2) : p.message;
    process.stdout.write(`${p.file.padEnd(width)}  ${p.code.padEnd(20)}  ${detail}\n`);
  }
  process.stderr.write(
    `mim-data: ${problems.length} problem(s) in ${items.length} items (${files} files) of ${source}\n`,
  );
  return 1;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    if (command === 'inspect') inspect(rest);
    else if (command === 'preprocess') preprocess(rest);
    else if (command === 'validate') return validate(rest);
    else if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    } else throw new UsageError(`unknown command "${command}"`);
    return 0;
  } catch (error) {
    if (error instanceof DataError) {
      process.stderr.write(`mim-data: ${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`mim-data: ${(error as Error).message}\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`mim-data: ${(error as Error).stack ?? error}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
