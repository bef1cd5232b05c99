// Locating a JSON syntax error for a one-line message.
//
// V8's JSON.parse messages are inconsistent: some give "at position N", others
// quote the whole input (newlines included), which would break the one-line
// error contract of the CLI. When parsing has already failed, this small
// scanner re-reads the text and reports where the first error is.

export interface JsonSyntaxProblem {
  line: number;
  column: number;
  /** e.g. `unexpected "}"` or `unexpected end of input`. */
  what: string;
}

class Stop {
  constructor(readonly pos: number) {}
}

/** Returns the first syntax problem in `text`, or null if it is valid JSON. */
export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | null {
  let pos = 0;

  const ws = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos] as string)) pos++;
  };
  const fail = (): never => {
    throw new Stop(pos);
  };
  const expect = (c: string): void => {
    if (text[pos] !== c) fail();
    pos++;
  };
  const word = (w: string): void => {
    for (const c of w) expect(c);
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text[pos] ?? '')) fail();
    while (/[0-9]/.test(text[pos] ?? '')) pos++;
  };
  const number = (): void => {
    if (text[pos] === '-') pos++;
    if (text[pos] === '0') pos++;
    else digits();
    if (text[pos] === '.') {
      pos++;
      digits();
    }
    if (text[pos] === 'e' || text[pos] === 'E') {
      pos++;
      if (text[pos] === '+' || text[pos] === '-') pos++;
      digits();
    }
  };
  const string = (): void => {
    expect('"');
    for (;;) {
      const c = text[pos];
      if (c === undefined || c < ' ') fail();
      if (c === '"') {
        pos++;
        return;
      }
      if (c === '\\') {
        pos++;
        const e = text[pos];
        if (e === 'u') {
          pos++;
          for (let i = 0; i < 4; i++) {
            if (!/[0-9a-fA-F]/.test(text[pos] ?? '')) fail();
            pos++;
          }
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) pos++;
        else fail();
      } else pos++;
    }
  };
  // Arrays and objects nest through an explicit stack, so a deeply nested
  // hostile input cannot overflow the JS stack.
  const value = (): void => {
    const stack: Array<'[' | '{'> = [];
    for (;;) {
      ws();
      const c = text[pos];
      let opened = false;
      if (c === '{' || c === '[') {
        pos++;
        ws();
        if (text[pos] === (c === '{' ? '}' : ']')) pos++;
        else {
          stack.push(c);
          opened = true;
          if (c === '{') {
            string();
            ws();
            expect(':');
          }
        }
      } else if (c === '"') string();
      else if (c === 't') word('true');
      else if (c === 'f') word('false');
      else if (c === 'n') word('null');
      else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
      else fail();
      if (opened) continue;
      // After a complete value: close containers or move to the next member.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) return;
        ws();
        if (text[pos] === ',') {
          pos++;
          if (top === '{') {
            ws();
            string();
            ws();
            expect(':');
          }
          break;
        }
        expect(top === '{' ? '}' : ']');
        stack.pop();
      }
    }
  };

  try {
    value();
    ws();
    if (pos < text.length) fail();
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return locate(text, e.pos);
  }
}

function locate(text: string, pos: number): JsonSyntaxProblem {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  const c = text[pos];
  const what = c === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(c)}`;
  return { line, column: pos - lineStart + 1, what };
}
