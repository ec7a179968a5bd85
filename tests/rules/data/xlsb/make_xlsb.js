// Writes the .xlsb fixtures of tests/rules/test_extract_xlsb.py with SheetJS, a writer independent
// of leakguard's reader. Run from this folder:
//   npm install xlsx@0.18.5 && node make_xlsb.js
// SheetJS writes cells after the first of a row as the short records (ids 12-18, no column);
// the test turns them into the full records Excel writes to check the other form too.
const XLSX = require("xlsx");

function payroll() {
  const wb = XLSX.utils.book_new();
  const rows = [
    ["Name", "SSN", "Card", "Routing", "Amount", "Active"],
    ["Müller, Anna", "078-05-1120", "4111 1111 1111 1111", 21000021, 1234.5, true],
    ["张伟", "219-09-9999", "5500 0000 0000 0004", 11000015, -7, false],
    ["O'Brien, Seán", "536-90-4399", "3782 822463 10005", 26009593, 0.01, true],
  ];
  const ws = XLSX.utils.aoa_to_sheet(rows);
  for (const ref of ["D2", "D3", "D4"]) ws[ref].z = "000000000";  // routing numbers stored as numbers
  XLSX.utils.book_append_sheet(wb, ws, "Payroll");
  XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet([["身份证号", "姓名"], ["11010519491231002X", "李娜"]]), "员工");
  return wb;
}

function notes() {
  const wb = XLSX.utils.book_new();
  const ws = XLSX.utils.aoa_to_sheet([["Name", "IBAN", "Total"], ["Anna", "DE89370400440532013000", 3],
                                      ["Bo", "GB82WEST12345698765432", 4]]);
  ws["A2"].c = [{a: "Auditor", t: "card 4111 1111 1111 1111 on file"}];
  ws["A9"] = {t: "s", v: "far below"};
  ws["E9"] = {t: "n", v: 1e-7};
  ws["!ref"] = "A1:E9";
  XLSX.utils.book_append_sheet(wb, ws, "Data");
  return wb;
}

XLSX.writeFile(payroll(), "payroll.xlsb", {bookType: "xlsb", bookSST: true});
XLSX.writeFile(payroll(), "payroll_inline.xlsb", {bookType: "xlsb", bookSST: false});
XLSX.writeFile(notes(), "notes.xlsb", {bookType: "xlsb"});
