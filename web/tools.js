// The API panel: every operation from /v1/tools (the OpenAI function-calling list the server
// generates from its operation table), each callable from a form built from its JSON Schema.
// What an agent developer wants to try by hand; the answer is shown as the server gave it.

const kMaxShown = 20000;  // characters of an answer shown (list_instruments is long)

function field(name, schema, required) {
  const label = document.createElement('label');
  label.append(`${name}${required ? ' *' : ''}`);
  let input;
  if (Array.isArray(schema.enum)) {
    input = document.createElement('select');
    if (!required) input.append(new Option('', ''));
    for (const v of schema.enum) input.append(new Option(String(v), String(v)));
  } else if (schema.type === 'boolean') {
    input = document.createElement('select');
    for (const v of ['', 'true', 'false']) input.append(new Option(v, v));
  } else {
    input = document.createElement('input');
    if (schema.type === 'number' || schema.type === 'integer') {
      input.type = 'number';
      input.step = schema.type === 'integer' ? '1' : 'any';
      if (schema.minimum !== undefined) input.min = String(schema.minimum);
      if (schema.maximum !== undefined) input.max = String(schema.maximum);
    } else if (schema.type !== 'string') {
      input.placeholder = 'JSON';   // objects, arrays, oneOf: typed as JSON
    }
    if (schema.maxLength) input.maxLength = schema.maxLength;
  }
  input.name = name;
  input.dataset.kind = Array.isArray(schema.enum) || schema.type === 'string' ? 'string'
    : schema.type === 'number' || schema.type === 'integer' || schema.type === 'boolean' ? 'number' : 'json';
  if (schema.type === 'boolean') input.dataset.kind = 'json';
  if (schema.description) input.title = schema.description;
  label.append(input);
  return label;
}

/** The args object from the form's fields; throws naming a field whose JSON does not parse. */
function argsOf(form) {
  const args = {};
  for (const input of form.querySelectorAll('input, select')) {
    const text = input.value.trim();
    if (text === '') continue;
    if (input.dataset.kind === 'string') args[input.name] = text;
    else if (input.dataset.kind === 'number') args[input.name] = Number(text);
    else {
      try { args[input.name] = JSON.parse(text); } catch { args[input.name] = text; }   // a bare word is a string
    }
  }
  return args;
}

/** Builds the panel into `root`; `call(op, args)` resolves to the answer object. */
export async function buildToolsPanel(root, call) {
  const tools = (await call.list()).map((t) => t.function);
  const select = document.createElement('select');
  select.id = 'tool';
  select.setAttribute('aria-label', 'operation');
  for (const t of tools) select.append(new Option(t.name, t.name));
  const description = document.createElement('p');
  description.className = 'muted small';
  const form = document.createElement('form');
  form.id = 'tool-form';
  form.noValidate = true;   // the server checks the args and says what is allowed: that answer is the point
  form.className = 'row';
  const fields = document.createElement('div');
  fields.className = 'row grow';
  const send = document.createElement('button');
  send.textContent = 'Call';
  form.append(fields, send);
  const answer = document.createElement('pre');
  answer.id = 'tool-answer';
  answer.className = 'answer';
  const show = () => {
    const t = tools.find((x) => x.name === select.value);
    description.textContent = t.description;
    const props = t.parameters.properties || {};
    const required = new Set(t.parameters.required || []);
    fields.replaceChildren(...Object.entries(props).map(([name, schema]) => field(name, schema, required.has(name))));
  };
  select.onchange = show;
  form.onsubmit = async (e) => {
    e.preventDefault();
    const reply = await call.raw(select.value, argsOf(form));
    const text = JSON.stringify(reply, null, 1);
    answer.textContent = text.length > kMaxShown ? `${text.slice(0, kMaxShown)}\n… (${text.length} characters)` : text;
    answer.dataset.status = reply.error ? String(reply.status) : '200';
  };
  root.append(select, description, form, answer);
  show();
}
