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
  const scanner = new SyntaxScanner(text);
  try {
    scanner.document();
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return locate(text, e.pos);
  }
}

/** A JSON recogniser that stops (throws Stop) at the first character that cannot follow. */
class SyntaxScanner {
  private pos = 0;

  constructor(private readonly text: string) {}

  document(): void {
    this.value();
    this.ws();
    if (this.pos < this.text.length) this.fail();
  }

  private ws(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos] as string)) this.pos++;
  }

  private fail(): never {
    throw new Stop(this.pos);
  }

  private at(): string | undefined {
    return this.text[this.pos];
  }

  private expect(c: string): void {
    if (this.at() !== c) this.fail();
    this.pos++;
  }

  private word(w: string): void {
    for (const c of w) this.expect(c);
  }

  private digits(): void {
    if (!/[0-9]/.test(this.at() ?? '')) this.fail();
    while (/[0-9]/.test(this.at() ?? '')) this.pos++;
  }

  private number(): void {
    if (this.at() === '-') this.pos++;
    if (this.at() === '0') this.pos++;
    else this.digits();
    if (this.at() === '.') {
      this.pos++;
      this.digits();
    }
    if (this.at() === 'e' || this.at() === 'E') {
      this.pos++;
      if (this.at() === '+' || this.at() === '-') this.pos++;
      this.digits();
    }
  }

  private string(): void {
    this.expect('"');
    for (;;) {
      const c = this.at();
      if (c === undefined || c < ' ') this.fail();
      this.pos++;
      if (c === '"') return;
      if (c === '\\') this.escape();
    }
  }

  private escape(): void {
    const e = this.at();
    if (e === 'u') {
      this.pos++;
      for (let i = 0; i < 4; i++) {
        if (!/[0-9a-fA-F]/.test(this.at() ?? '')) this.fail();
        this.pos++;
      }
    } else if (e !== undefined && '"\\/bfnrtu'.includes(e)) this.pos++;
    else this.fail();
  }

  /** An object member's key and colon. */
  private key(): void {
    this.ws();
    this.string();
    this.ws();
    this.expect(':');
  }

  /**
   * Arrays and objects nest through an explicit stack, so a deeply nested
   * hostile input cannot overflow the JS stack.
   */
  private value(): void {
    const stack: Array<'[' | '{'> = [];
    for (;;) {
      this.ws();
      if (this.openContainer(stack)) continue;
      // After a complete value: close containers or move to the next member.
      if (!this.closeOrNext(stack)) return;
    }
  }

  /** A scalar, an empty container, or the opening of one (true: its first member follows). */
  private openContainer(stack: Array<'[' | '{'>): boolean {
    const c = this.at();
    if (c === '{' || c === '[') {
      this.pos++;
      this.ws();
      if (this.at() === (c === '{' ? '}' : ']')) {
        this.pos++;
        return false;
      }
      stack.push(c);
      if (c === '{') this.key();
      return true;
    }
    if (c === '"') this.string();
    else if (c === 't') this.word('true');
    else if (c === 'f') this.word('false');
    else if (c === 'n') this.word('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else this.fail();
    return false;
  }

  /** Closes finished containers; true when another member follows, false at the end of the outermost value. */
  private closeOrNext(stack: Array<'[' | '{'>): boolean {
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return false;
      this.ws();
      if (this.at() === ',') {
        this.pos++;
        if (top === '{') this.key();
        return true;
      }
      this.expect(top === '{' ? '}' : ']');
      stack.pop();
    }
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
