// Steering controls built from the MusicConfig schema (/music_config.schema.json, the one the
// server validates with): segmented buttons for the labelled scales, selects for the styles,
// sliders for the numbers. Each change calls `send(update)` with {field: value}; `show(config)`
// sets the controls to the config the server reports.

/** The labelled scales, in the order a musician reaches for them. */
export const kScales = ['tempo', 'brightness', 'space', 'echo', 'motion', 'stereo', 'grain', 'attack', 'human'];
/** Style choices (one of a list). */
export const kStyles = ['rhythm', 'bass', 'pad', 'melody', 'texture', 'accent', 'harmony_style', 'chord_extensions', 'tension_curve', 'melody_engine'];
/** Numbers, as sliders over the schema's range. */
export const kNumbers = ['density', 'melody_density', 'syncopation', 'swing', 'motif_repeat_prob', 'step_bias', 'chromatic_prob',
  'cadence_strength', 'chord_change_bars', 'phrase_len_bars', 'register_min_oct', 'register_max_oct'];

const pretty = (name) => name.replace(/_/g, ' ');

function element(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k in e && typeof v !== 'string') e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

/** Builds the controls into `root`; returns {show(config)}. */
export function buildControls(root, schema, send) {
  const props = schema.properties;
  const setters = {};
  for (const field of kScales) {
    const labels = props[field]?.enum;
    if (!labels) continue;
    const group = element('div', { class: 'segmented', role: 'group', 'aria-label': pretty(field) });
    for (const label of labels) {
      group.append(element('button', { type: 'button', 'aria-pressed': 'false', dataset: { field, value: label }, title: `${pretty(field)}: ${pretty(label)}`,
        onclick: () => send({ [field]: label }) }, pretty(label)));
    }
    root.append(element('div', { class: 'control', id: `control-${field}` }, element('div', { class: 'name' }, pretty(field)), group));
    setters[field] = (value) => {
      for (const b of group.children) b.setAttribute('aria-pressed', String(b.dataset.value === value));
    };
  }
  for (const field of kStyles) {
    const options = props[field]?.enum;
    if (!options) continue;
    const select = element('select', { id: `control-${field}`, onchange: () => send({ [field]: select.value }) },
      ...options.map((o) => element('option', { value: o }, pretty(o))));
    root.append(element('label', { class: 'control' }, pretty(field), select));
    setters[field] = (value) => { if (document.activeElement !== select) select.value = value; };
  }
  for (const field of kNumbers) {
    const p = props[field];
    if (!p) continue;
    const integer = p.type === 'integer';
    const shown = element('span', {}, '');
    const slider = element('input', { type: 'range', id: `control-${field}`, min: String(p.minimum), max: String(p.maximum), step: integer ? '1' : '0.05' });
    slider.oninput = () => { shown.textContent = slider.value; };
    slider.onchange = () => send({ [field]: integer ? parseInt(slider.value, 10) : parseFloat(slider.value) });
    root.append(element('label', { class: 'control' }, element('span', { class: 'name' }, pretty(field), shown), slider));
    setters[field] = (value) => {
      if (document.activeElement === slider) return;
      slider.value = String(value); shown.textContent = String(value);
    };
  }
  if (props.depth) {
    const box = element('input', { type: 'checkbox', id: 'control-depth', onchange: () => send({ depth: box.checked }) });
    root.append(element('label', { class: 'control check' }, box, 'depth (sub-bass)'));
    setters.depth = (value) => { box.checked = Boolean(value); };
  }
  return {
    show(config) {
      for (const [field, set] of Object.entries(setters)) if (config && field in config) set(config[field]);
    },
  };
}
