"""Small files that cost a parser far more than their size (issue 26), built on demand so
no bomb is stored in the repository: the attack replay (``bench.attack``) and the tests
(``tests/test_hostile_files.py``) use the same builders.

* :func:`pdf_bomb`: pages that all share one compressed content stream of many text
  operators, so every page decompresses and interprets it again (the default: 9 KB,
  12 pages, about 8 s of pypdf a page before the limits; 300,000 operators stays under
  pypdf's own tokens-per-stream limit).
* :func:`docx_bomb`: a .docx whose ``document.xml`` unpacks to ``megabytes`` MB of
  paragraphs (103 KB -> 30 MB: 94 s and 526 MB of python-docx before the limits).
"""

from __future__ import annotations

import io
import zipfile
import zlib


def pdf_bomb(pages: int = 12, operators: int = 300_000) -> bytes:
    """A valid PDF of ``pages`` pages that share one Flate content stream of
    ``operators`` text-showing operators."""
    content = b"BT /F1 1 Tf " + b"(a) Tj 0 0 Td " * operators + b"ET\n"
    stream = zlib.compress(content, 9)
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        *[f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {3 + pages} 0 R "
          f"/Resources << /Font << /F1 {4 + pages} 0 R >> >> >>".encode() for _ in range(pages)],
        b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n" + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '</Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>')


def docx_bomb(megabytes: float = 30) -> bytes:
    """A minimal, valid .docx whose ``document.xml`` unpacks to about ``megabytes`` MB."""
    paragraph = b"<w:p><w:r><w:t>calcium deposits in the skin</w:t></w:r></w:p>"
    body = paragraph * int(megabytes * 1e6 / len(paragraph))
    document = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                b"<w:body>" + body + b"</w:body></w:document>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document)
    return out.getvalue()
