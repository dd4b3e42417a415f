"""Packaging for recmamba. Metadata and requirements live in settings.ini (nbdev 2)."""
from configparser import ConfigParser
from pathlib import Path

import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read(Path(__file__).parent / 'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']


def _reqs(key): return cfg.get(key, '').split()


setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=(Path(__file__).parent / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    author=cfg['author'],
    author_email=cfg['author_email'],
    license='Apache-2.0',
    url=cfg['git_url'],
    keywords=cfg['keywords'].split(),
    python_requires='>=' + cfg['min_python'],
    # recmamba/tuned/ holds data only: the searches behind presets' settings (recmamba.sweep.TUNED)
    packages=setuptools.find_packages(include=[cfg['lib_path'], cfg['lib_path'] + '.*']) + [cfg['lib_path'] + '.tuned'],
    include_package_data=True,
    package_data={cfg['lib_path'] + '.tuned': ['*.yaml', '*.json']},
    install_requires=_reqs('requirements'),
    extras_require={'lab': _reqs('lab_requirements'), 'ray': _reqs('ray_requirements'),
                    'dev': _reqs('lab_requirements') + _reqs('dev_requirements') + _reqs('ray_requirements'),
                    'cuda': _reqs('cuda_requirements')},
    entry_points={'console_scripts': cfg['console_scripts'].split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    classifiers=['Development Status :: 3 - Alpha', 'Intended Audience :: Science/Research',
                 'Programming Language :: Python :: 3', 'Topic :: Scientific/Engineering :: Artificial Intelligence'],
    zip_safe=False,
)
