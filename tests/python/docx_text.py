"""Reads a DOCX with python-docx (an independent reader, not kvpt's writer) and prints
what a person would read in it as JSON: the paragraphs, the tables (cells' text, nested
tables of the header and signature blocks included) and how many pictures it holds."""
import json
import sys

import docx


def cells(table):
    return [[cell.text for cell in row.cells] for row in table.rows]


def paragraphs_of(container):
    out = [p.text for p in container.paragraphs]
    for table in container.tables:
        for row in table.rows:
            for cell in row.cells:
                out.extend(paragraphs_of(cell))
    return out


document = docx.Document(sys.argv[1])
section = document.sections[0]
print(json.dumps({
    "paragraphs": paragraphs_of(document),
    "tables": [cells(t) for t in document.tables],
    "pictures": len(document.inline_shapes),
    "page_mm": [round(section.page_width.mm), round(section.page_height.mm)],
    "margins_mm": [round(section.top_margin.mm), round(section.bottom_margin.mm),
                   round(section.left_margin.mm), round(section.right_margin.mm)],
}, ensure_ascii=False))
