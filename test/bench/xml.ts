// A strict-enough XML well-formedness check for the bench's SVG: balanced
// tags, quoted attributes, no bare & or <. No dependency needed.

export function checkWellFormed(xml: string): string | null {
  const stack: string[] = [];
  let i = 0;
  const text = xml.replace(/^<\?xml[^>]*\?>/, '');
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = lt === -1 ? text.slice(i) : text.slice(i, lt);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(chunk)) return `bare & in text near ${JSON.stringify(chunk.slice(0, 40))}`;
    if (lt === -1) break;
    const gt = text.indexOf('>', lt);
    if (gt === -1) return 'unterminated tag';
    const tag = text.slice(lt + 1, gt);
    if (tag.startsWith('!--')) {
      i = text.indexOf('-->', lt) + 3;
      continue;
    }
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) return `</${name}> closes <${open ?? 'nothing'}>`;
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*$/.exec(body);
      if (!m) return `malformed tag <${tag.slice(0, 60)}>`;
      const names = [...m[2]!.matchAll(/([\w:.-]+)="/g)].map((a) => a[1]);
      if (new Set(names).size !== names.length) return `duplicate attribute in <${m[1]}>`;
      if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(m[2]!)) return `bare & in attribute of <${m[1]}>`;
      if (!selfClosing) stack.push(m[1]!);
    }
    i = gt + 1;
  }
  if (stack.length) return `unclosed <${stack[stack.length - 1]}>`;
  return null;
}
