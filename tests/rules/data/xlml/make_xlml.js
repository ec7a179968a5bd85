// Writes the Excel 2003 XML (SpreadsheetML 2003) fixture of tests/rules/test_extract_xmlsheet.py with
// SheetJS ("xlml"), a writer independent of leakguard's reader. Run from this folder:
//   npm install xlsx@0.18.5 && node make_xlml.js
const XLSX = require("xlsx");
const wb = XLSX.utils.book_new();
const ws = XLSX.utils.aoa_to_sheet([
  ["Name", "Routing", "SSN", "Card"],
  ["Anna Müller", 21000021, "078-05-1120", "4111 1111 1111 1111"],
  ["张伟", 11000015, "219-09-9999", "5500 0000 0000 0004"],
  ["Seán O'Brien", 26009593, "536-90-4399", "3782 822463 10005"],
]);
for (const ref of ["B2", "B3", "B4"]) ws[ref].z = "000000000";  // routing numbers stored as numbers
ws["A8"] = {t: "s", v: "after a gap"};
ws["E8"] = {t: "n", v: 5};
ws["A2"].c = [{a: "Auditor", t: "IBAN DE89370400440532013000 on file"}];
ws["!ref"] = "A1:E8";
XLSX.utils.book_append_sheet(wb, ws, "Payroll");
XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet([["身份证号"], ["11010519491231002X"]]), "员工");
XLSX.writeFile(wb, "payroll_2003.xml", {bookType: "xlml"});
