// The query depth limit (v1's gateway allowed 7): a validation rule. Root fields are at depth 0, the fields they
// select at depth 1, and so on; fragments count as the fields they contain. Introspection fields (`__schema`,
// `__type`, `__typename`) are not counted, so IDEs can introspect however deep their query is.
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";

/** A rule rejecting every operation with a field nested deeper than `maxDepth`. */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    /** The depth of the deepest field under `selectionSet`, whose fields sit at `depth`; stops past the limit. */
    const deepest = (selectionSet: SelectionSetNode, depth: number, inFragments: ReadonlySet<string>): number => {
      let result = depth - 1;
      for (const selection of selectionSet.selections) {
        if (result > maxDepth) break;
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value.startsWith("__")) continue;
          result = Math.max(result, selection.selectionSet ? deepest(selection.selectionSet, depth + 1, inFragments) : depth);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          result = Math.max(result, deepest(selection.selectionSet, depth, inFragments));
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // Unknown fragments and fragment cycles are other rules' errors.
          if (!fragment || inFragments.has(name)) continue;
          result = Math.max(result, deepest(fragment.selectionSet, depth, new Set([...inFragments, name])));
        }
      }
      return result;
    };
    return {
      OperationDefinition(operation) {
        const depth = deepest(operation.selectionSet, 0, new Set());
        if (depth > maxDepth) {
          const name = operation.name ? `'${operation.name.value}'` : "The operation";
          context.reportError(
            new GraphQLError(`${name} is nested deeper than the limit of ${maxDepth} levels.`, { nodes: [operation] }),
          );
        }
      },
    };
  };
}
