/**
 * Evaluates the defaults written in the README "as in code" (`45_000`, `1 * MiB`,
 * `'./data/ddp-guard.sqlite'`, `null`, `90 * 24 * 3600 * 1000`) without `eval`: the text is
 * parsed with TypeScript and only literals, arithmetic, arrays, parentheses, `as` casts and the
 * named constants given (those declared in `server/services/options.ts`) are understood.
 */
import ts from 'typescript';

export type Constants = ReadonlyMap<string, unknown>;

/** Thrown for text that is not a plain value expression. */
export class NotAValueError extends Error {
  override name = 'NotAValueError';
}

function evaluate(node: ts.Expression, constants: Constants, source: ts.SourceFile): unknown {
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) return evaluate(node.expression, constants, source);
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (node.kind === ts.SyntaxKind.NullKeyword) return null;
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (ts.isIdentifier(node)) {
    if (node.text === 'undefined') return undefined;
    if (constants.has(node.text)) return constants.get(node.text);
    throw new NotAValueError(`unknown name '${node.text}'`);
  }
  if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken) return -(evaluate(node.operand, constants, source) as number);
  if (ts.isArrayLiteralExpression(node)) return node.elements.map((e) => evaluate(e, constants, source));
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.getText(source) === 'Object.freeze' && node.arguments.length === 1) {
    return evaluate(node.arguments[0]!, constants, source);
  }
  if (ts.isBinaryExpression(node)) {
    const a = evaluate(node.left, constants, source);
    const b = evaluate(node.right, constants, source);
    if (typeof a !== 'number' || typeof b !== 'number') throw new NotAValueError(`arithmetic on non-numbers in '${node.getText(source)}'`);
    switch (node.operatorToken.kind) {
      case ts.SyntaxKind.AsteriskToken: return a * b;
      case ts.SyntaxKind.PlusToken: return a + b;
      case ts.SyntaxKind.MinusToken: return a - b;
      case ts.SyntaxKind.SlashToken: return a / b;
      case ts.SyntaxKind.AsteriskAsteriskToken: return a ** b;
      default: throw new NotAValueError(`operator '${node.operatorToken.getText(source)}' is not supported`);
    }
  }
  throw new NotAValueError(`'${node.getText(source)}' is not a plain value`);
}

/** The value of an expression such as `1 * MiB` or `'127.0.0.1'`. */
export function valueOfCode(text: string, constants: Constants = new Map()): unknown {
  const source = ts.createSourceFile('value.ts', `(${text});`, ts.ScriptTarget.Latest, true);
  const statement = source.statements[0];
  if (source.statements.length !== 1 || !statement || !ts.isExpressionStatement(statement) || (source as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics.length > 0) {
    throw new NotAValueError(`'${text}' is not one expression`);
  }
  return evaluate(statement.expression, constants, source);
}

/** The module-level `const NAME = <value>` declarations of a source file whose values are plain. */
export function moduleConstants(sourceText: string): Map<string, unknown> {
  const source = ts.createSourceFile('module.ts', sourceText, ts.ScriptTarget.Latest, true);
  const constants = new Map<string, unknown>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement) || !(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
    for (const d of statement.declarationList.declarations) {
      if (!ts.isIdentifier(d.name) || !d.initializer) continue;
      try {
        constants.set(d.name.text, evaluate(d.initializer, constants, source));
      } catch (err) {
        if (!(err instanceof NotAValueError)) throw err;
      }
    }
  }
  return constants;
}
