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
  // Table mutations
  insert: (table: string) => `insert_${table}`,
  insertOne: (table: string) => `insert_${table}_one`,
  update: (table: string) => `update_${table}`,
  updateByPk: (table: string) => `update_${table}_by_pk`,
  delete: (table: string) => `delete_${table}`,
  deleteByPk: (table: string) => `delete_${table}_by_pk`,
  mutationResponse: (table: string) => `${table}_mutation_response`,
  insertInput: (table: string) => `${table}_insert_input`,
  objRelInsertInput: (table: string) => `${table}_obj_rel_insert_input`,
  arrRelInsertInput: (table: string) => `${table}_arr_rel_insert_input`,
  onConflict: (table: string) => `${table}_on_conflict`,
  constraint: (table: string) => `${table}_constraint`,
  updateColumn: (table: string) => `${table}_update_column`,
  pkColumnsInput: (table: string) => `${table}_pk_columns_input`,
  /** `<table>_set_input`, `<table>_inc_input`, `<table>_append_input`, `<table>_delete_key_input`, … (`_set` → `set`) */
  updateOperatorInput: (table: string, operator: string) => `${table}${operator}_input`,
} as const;
