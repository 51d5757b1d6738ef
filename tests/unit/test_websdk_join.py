"""Joining the SDK's modules into the one module /sdk/herald.js serves."""

import pytest

from chalicelib.websdk import ENTRY, BundleError, join

SOURCES = {
    "a.js": "export const A = 1;\nexport function twice(x) {\n  return 2 * x;\n}\n",
    "b.js": 'import { A, twice } from "./a.js";\n\nexport class B {\n  value = twice(A);\n}\n',
    ENTRY: (
        'import { B } from "./b.js";\n\nexport { twice } from "./a.js";\n'
        "export const made = new B();\n"
    ),
}


def test_modules_come_in_dependency_order_without_their_imports():
    text = join(SOURCES)
    assert text.index("const A = 1") < text.index("class B") < text.index("export const made")
    assert "import " not in text
    assert "export const A" not in text and "export class B" not in text
    assert "export { twice };" in text


def test_a_name_declared_twice_is_refused():
    with pytest.raises(BundleError, match="A is also declared"):
        join({**SOURCES, "b.js": 'import { twice } from "./a.js";\nconst A = 2;\n'})


def test_an_import_the_joiner_cannot_follow_is_refused():
    with pytest.raises(BundleError, match="one-line imports"):
        join({**SOURCES, "b.js": 'import {\n  A } from "./a.js";\n'})
    with pytest.raises(BundleError, match="missing module"):
        join({**SOURCES, ENTRY: 'import { C } from "./c.js";\n'})
