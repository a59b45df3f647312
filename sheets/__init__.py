"""Spreadsheets: village and enterprise sheets read row by row, result workbooks written.

No database here: `store.ingest` stores what these readers validate; `zhida batch` matches a
sheet and writes the result workbook without storing anything.
"""
