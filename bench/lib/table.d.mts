/** How a metric is displayed. */
export type Unit = 'ms' | 'bytes' | 'pct' | 'mib' | 'ratio';

/** What became of one workload repetition. */
export type Status = 'ok' | 'timeout' | 'failed' | 'n/a';

/** One workload repetition of one system; a null metric has no equivalent in that system. */
export interface BenchResult {
  readonly system: string;
  readonly workload: string;
  readonly rep: number;
  readonly status: Status;
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly note?: string;
}

/** One table row: which workload metric it shows, its label and unit. */
export interface Row {
  readonly workload: string;
  readonly metric: string;
  readonly label: string;
  readonly unit: Unit;
}

/** One system's values for one row. */
export interface Cell {
  readonly values: number[];
  readonly failures: Status[];
  readonly notApplicable: boolean;
  readonly median: number;
}

/** A column of the table. */
export interface SystemColumn {
  readonly id: string;
  readonly label: string;
}

/** What the report header says about the run. */
export interface RunInfo {
  readonly title: string;
  readonly command: string;
  readonly machine: string;
  readonly started: string;
  readonly durationS: number;
  readonly settings: string;
  readonly versions: readonly string[];
  /** One line per system: how it was configured. */
  readonly configs?: readonly string[];
  readonly sizes: string;
  readonly systems: readonly SystemColumn[];
}

/** Table rows, in order. */
export declare const ROWS: readonly Row[];

/** One value with its unit, e.g. 1234 ms -> "1.23 s". */
export declare function formatValue(v: number, unit: Unit): string;

/** A median with its range in the median's unit, e.g. "1.23 s (1.10–1.40)". */
export declare function formatRange(values: readonly number[], unit: Unit): string;

/** Wizard ÷ other, e.g. "0.52×"; '–' when not computable. */
export declare function formatRatio(ours: number, theirs: number): string;

/** Per row and system: values over repetitions and failed repetitions. */
export declare function summarize(results: readonly BenchResult[], systems: readonly string[]): Array<{ row: Row; cells: Record<string, Cell> }>;

/** The text of one cell. */
export declare function formatCell(cell: Cell, unit: Unit): string;

/** The markdown table, with a ratio column per system after the first. */
export declare function formatTable(results: readonly BenchResult[], systems: readonly SystemColumn[]): string;

/** Notes attached to results, one line each. */
export declare function formatNotes(results: readonly BenchResult[]): string[];

/** The whole report: header, table and notes. */
export declare function formatReport(run: RunInfo, results: readonly BenchResult[]): string;
