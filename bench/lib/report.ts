// What a benchmark hands back and how the runner prints it: a titled table with aligned columns, optional
// ratio columns computed from two numeric columns, notes, and further tables.

/** A number is formatted by the printer (thousands separators, 3 significant decimals); a string is shown as is. */
export type BenchCell = string | number | undefined;

export interface RatioColumn {
  /** Header of the computed column, e.g. "ambit/baseline". */
  readonly title: string;
  /** Column names whose numeric cells are divided; rows with a non-numeric or zero denominator show "-". */
  readonly numerator: string;
  readonly denominator: string;
}

export interface BenchReport {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly BenchCell[])[];
  readonly ratios?: readonly RatioColumn[];
  /** Lines printed under the table: sizes used, caveats, what a figure means. */
  readonly notes?: readonly string[];
  /** Further tables belonging to the same benchmark (e.g. a breakdown of where time goes). */
  readonly more?: readonly BenchReport[];
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const magnitude = Math.abs(value);
  const decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

function formatCell(cell: BenchCell): string {
  if (cell === undefined) return '-';
  return typeof cell === 'number' ? formatNumber(cell) : cell;
}

function ratioCell(row: readonly BenchCell[], columns: readonly string[], ratio: RatioColumn): string {
  const numerator = row[columns.indexOf(ratio.numerator)];
  const denominator = row[columns.indexOf(ratio.denominator)];
  if (typeof numerator !== 'number' || typeof denominator !== 'number' || denominator === 0) return '-';
  return `${formatNumber(numerator / denominator)}x`;
}

/** The report as text: title, underline, header, rows (numbers right-aligned), notes, then the `more` tables. */
export function formatReport(report: BenchReport): string {
  for (const ratio of report.ratios ?? []) {
    for (const column of [ratio.numerator, ratio.denominator]) {
      if (!report.columns.includes(column)) throw new Error(`report "${report.title}": ratio "${ratio.title}" names unknown column "${column}"`);
    }
  }
  const header = [...report.columns, ...(report.ratios ?? []).map((ratio) => ratio.title)];
  const body = report.rows.map((row) => [
    ...report.columns.map((_, i) => formatCell(row[i])),
    ...(report.ratios ?? []).map((ratio) => ratioCell(row, report.columns, ratio)),
  ]);
  const numeric = header.map((_, i) => i >= report.columns.length || report.rows.some((row) => typeof row[i] === 'number'));
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [report.title, '='.repeat(report.title.length), line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  if (report.notes && report.notes.length > 0) out.push('', ...report.notes.map((note) => `  ${note}`));
  for (const more of report.more ?? []) out.push('', formatReport(more));
  return out.join('\n');
}
