// Hasura v2's names for everything generated from a table (one place, so no module spells them differently).
export const names = {
  boolExp: (table: string) => `${table}_bool_exp`,
  comparisonExp: (scalar: string) => `${scalar}_comparison_exp`,
  orderBy: (table: string) => `${table}_order_by`,
  orderByEnum: "order_by",
  selectColumn: (table: string) => `${table}_select_column`,
  byPk: (table: string) => `${table}_by_pk`,
  aggregate: (table: string) => `${table}_aggregate`,
  aggregateFields: (table: string) => `${table}_aggregate_fields`,
  aggregateOrderBy: (table: string) => `${table}_aggregate_order_by`,
  /** `<table>_max_fields`, `<table>_avg_fields`, … */
  aggregateFunctionFields: (table: string, fn: string) => `${table}_${fn}_fields`,
  /** `<table>_max_order_by`, `<table>_avg_order_by`, … */
  aggregateFunctionOrderBy: (table: string, fn: string) => `${table}_${fn}_order_by`,
  relationshipAggregate: (relationship: string) => `${relationship}_aggregate`,
  functionArgs: (fn: string) => `${fn}_args`,
} as const;
