"""Render nbs/index.ipynb into README.md (nbdev_readme needs Quarto, which needs the internet).

Markdown cells are copied; code cells become fenced blocks (with their text output) unless they carry
`#| hide`; nbdev directives are dropped. `--check` only compares and exits 1 when README.md is stale.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render(nb_path=ROOT / 'nbs' / 'index.ipynb'):
    cells, parts = json.loads(nb_path.read_text(encoding='utf-8'))['cells'], []
    for cell in cells:
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'markdown':
            parts.append(src.strip())
        elif cell['cell_type'] == 'code':
            lines = src.splitlines()
            if any(l.replace(' ', '').startswith('#|hide') for l in lines): continue
            code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
            if code: parts.append(f'```python\n{code}\n```')
            text = ''.join(''.join(o.get('text', '')) for o in cell.get('outputs', []) if o.get('output_type') == 'stream')
            if text.strip(): parts.append(f'```\n{text.rstrip()}\n```')
    return '<!-- Generated from nbs/index.ipynb by `make readme`: edit the notebook, not this file. -->\n\n' \
        + '\n\n'.join(p for p in parts if p) + '\n'


if __name__ == '__main__':
    readme, text = ROOT / 'README.md', render()
    if '--check' in sys.argv[1:]:
        if not readme.exists() or readme.read_text(encoding='utf-8') != text:
            sys.exit('README.md is out of sync with nbs/index.ipynb: run `make readme` and commit.')
    else:
        readme.write_text(text, encoding='utf-8')
