package io.guestflow.scan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The report page: one file with its CSS, script, data and SVG charts
 * inline — no network, so it opens from a mail attachment or an artifact
 * store. Charts are drawn here as SVG; the image table is built by the
 * page's script from the embedded JSON, so it can be filtered and sorted.
 * Guest-controlled text (hostnames, product names, paths) is escaped in the
 * SVG and set with textContent in the table.
 */
public final class ReportHtml {
    private ReportHtml() {
    }

    public static String render(ScanReport report, ObjectMapper json) {
        ScanReport.Summary s = report.summary();
        StringBuilder h = new StringBuilder(32_768);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>guestflow scan ").append(esc(s.scan())).append(" — ").append(esc(s.runId())).append("</title>\n")
                .append("<style>").append(CSS).append("</style></head>\n<body>\n");
        h.append("<header><h1>Fleet scan <span class=\"scan\">").append(esc(s.scan())).append("</span></h1>")
                .append("<p class=\"meta\">run ").append(esc(s.runId())).append(" · job type ").append(esc(s.type()))
                .append(" · roots ").append(esc(String.join(", ", s.roots())))
                .append(" · finished ").append(esc(String.valueOf(s.finishedAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS))))
                .append(s.previousRunId() == null ? " · first run" : " · compared with run " + esc(s.previousRunId()))
                .append("</p></header>\n");
        h.append("<section class=\"tiles\">");
        tile(h, "images", s.imagesFound(), "found");
        tile(h, "succeeded", s.succeeded(), "ok");
        tile(h, "failed", s.failed() + s.noResult(), s.failed() + s.noResult() > 0 ? "bad" : "ok");
        tile(h, "new", s.newImages(), "new");
        tile(h, "changed", s.changed(), "changed");
        tile(h, "unchanged", s.unchanged(), "unchanged");
        tile(h, "removed", s.removed(), "removed");
        tile(h, "jobs run", s.jobsProduced(), "found");
        h.append("</section>\n<section class=\"charts\">\n");
        Map<String, Integer> status = new LinkedHashMap<>();
        status.put("succeeded", s.succeeded());
        s.failuresByCode().forEach((k, v) -> status.put(k, v));
        Map<String, Integer> changes = new LinkedHashMap<>();
        changes.put("new", s.newImages());
        changes.put("changed", s.changed());
        changes.put("unchanged", s.unchanged());
        changes.put("removed", s.removed());
        Map<String, Integer> packages = new LinkedHashMap<>();
        s.topPackages().forEach(p -> packages.put(p.name(), p.images()));
        chart(h, "chart-os", "Operating systems (distribution and version)", s.byVersion(), "os");
        chart(h, "chart-status", "Outcome per image", status, "status");
        chart(h, "chart-changes", "Since the previous run", changes, "changes");
        chart(h, "chart-packages", "Most common packages (images having them)", packages, "packages");
        h.append("</section>\n");
        h.append("<section class=\"table\"><h2>Images</h2>")
                .append("<input id=\"filter\" type=\"search\" placeholder=\"filter: path, distro, hostname, error…\">")
                .append("<table id=\"images\"><thead><tr>");
        for (String[] c : COLUMNS) {
            h.append("<th data-key=\"").append(c[0]).append("\">").append(c[1]).append("</th>");
        }
        h.append("</tr></thead><tbody></tbody></table>");
        if (!report.removed().isEmpty()) {
            h.append("<h3>Removed since the previous run</h3><ul class=\"removed\">");
            report.removed().forEach(p -> h.append("<li>").append(esc(p)).append("</li>"));
            h.append("</ul>");
        }
        h.append("<noscript><p>The table needs JavaScript; report.csv next to this file has the same rows.</p></noscript>")
                .append("</section>\n");
        h.append("<script type=\"application/json\" id=\"scan-data\">").append(data(report, json)).append("</script>\n");
        h.append("<script>").append(JS).append("</script>\n</body></html>\n");
        return h.toString();
    }

    static final String[][] COLUMNS = {{"path", "Image"}, {"change", "Change"}, {"status", "Status"},
        {"os", "Operating system"}, {"hostname", "Hostname"}, {"packages", "Packages"}, {"size", "Size"},
        {"reason", "Failure"}};

    private static void tile(StringBuilder h, String label, int n, String cls) {
        h.append("<div class=\"tile ").append(cls).append("\"><b>").append(n).append("</b><span>").append(label)
                .append("</span></div>");
    }

    /** A horizontal bar chart; empty data still gets its frame and a note, so the page layout never jumps. */
    static void chart(StringBuilder h, String id, String title, Map<String, Integer> data, String cls) {
        List<Map.Entry<String, Integer>> rows = new ArrayList<>(data.entrySet());
        int max = rows.stream().mapToInt(Map.Entry::getValue).max().orElse(0);
        int barH = 22;
        int height = Math.max(1, rows.size()) * (barH + 6) + 8;
        int labelW = 170;
        int width = 520;
        h.append("<figure class=\"chart ").append(cls).append("\" id=\"").append(id).append("\"><figcaption>")
                .append(esc(title)).append("</figcaption>")
                .append("<svg class=\"chart-svg\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 ")
                .append(width).append(' ').append(height).append("\" width=\"").append(width).append("\" height=\"")
                .append(height).append("\"><title>").append(esc(title)).append("</title>");
        if (rows.isEmpty()) {
            h.append("<text class=\"empty\" x=\"8\" y=\"20\">nothing to show</text>");
        }
        int y = 6;
        int i = 0;
        for (Map.Entry<String, Integer> e : rows) {
            int w = max == 0 ? 0 : Math.max(e.getValue() > 0 ? 2 : 0, (int) Math.round((width - labelW - 50) * (double) e.getValue() / max));
            h.append("<g class=\"bar-row\" data-label=\"").append(esc(e.getKey())).append("\" data-value=\"")
                    .append(e.getValue()).append("\">")
                    .append("<text class=\"label\" x=\"").append(labelW - 8).append("\" y=\"").append(y + 16)
                    .append("\" text-anchor=\"end\">").append(esc(shorten(e.getKey()))).append("</text>")
                    .append("<rect class=\"bar c").append(i % 6).append("\" x=\"").append(labelW).append("\" y=\"").append(y)
                    .append("\" width=\"").append(w).append("\" height=\"").append(barH).append("\" rx=\"3\"></rect>")
                    .append("<text class=\"value\" x=\"").append(labelW + w + 6).append("\" y=\"").append(y + 16).append("\">")
                    .append(e.getValue()).append("</text></g>");
            y += barH + 6;
            i++;
        }
        h.append("</svg></figure>\n");
    }

    private static String shorten(String s) {
        return s.length() > 24 ? s.substring(0, 23) + "…" : s;
    }

    /**
     * The embedded data, safe for any guest string: '<', '>' and '&' can only
     * stand inside JSON strings, where their unicode escapes mean the same to
     * JSON.parse and nothing to the HTML parser, so no "</script>", "<!--" or
     * "<script" can end or change the script element; U+2028/U+2029 likewise.
     */
    static String data(ScanReport report, ObjectMapper json) {
        try {
            return scriptSafe(json.writeValueAsString(report));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String scriptSafe(String jsonText) {
        StringBuilder b = new StringBuilder(jsonText.length() + 64);
        for (int i = 0; i < jsonText.length(); i++) {
            char c = jsonText.charAt(i);
            switch (c) {
                case '<' -> b.append("\\u003c");
                case '>' -> b.append("\\u003e");
                case '&' -> b.append("\\u0026");
                case '\u2028' -> b.append("\\u2028");
                case '\u2029' -> b.append("\\u2029");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static final String CSS = """
            body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f4f6fa}
            header{background:#1d2b4f;color:#fff;padding:18px 28px}h1{margin:0;font-size:22px}
            .scan{color:#9fd0ff}.meta{margin:4px 0 0;color:#c8d3ea;font-size:13px}
            .tiles{display:flex;flex-wrap:wrap;gap:10px;padding:18px 28px 0}
            .tile{background:#fff;border-radius:8px;padding:10px 16px;min-width:90px;box-shadow:0 1px 3px #0002}
            .tile b{display:block;font-size:24px}.tile span{color:#5a6478;font-size:12px;text-transform:uppercase}
            .tile.bad b{color:#c0392b}.tile.ok b{color:#1e8449}.tile.new b{color:#2471a3}.tile.changed b{color:#b9770e}
            .charts{display:flex;flex-wrap:wrap;gap:16px;padding:18px 28px}
            .chart{background:#fff;border-radius:8px;margin:0;padding:12px 14px;box-shadow:0 1px 3px #0002}
            figcaption{font-weight:600;margin-bottom:6px}
            .chart-svg .label,.chart-svg .value,.chart-svg .empty{font-size:12px;fill:#333}
            .bar.c0{fill:#3b7dd8}.bar.c1{fill:#27ae60}.bar.c2{fill:#e67e22}.bar.c3{fill:#8e44ad}.bar.c4{fill:#16a085}.bar.c5{fill:#c0392b}
            .status .bar.c0{fill:#27ae60}.status .bar.c1,.status .bar.c2,.status .bar.c3{fill:#c0392b}
            .table{padding:0 28px 28px}#filter{padding:6px 10px;width:320px;margin-bottom:8px;border:1px solid #bbb;border-radius:6px}
            table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 3px #0002}
            th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e7ef;vertical-align:top}
            th{background:#e9edf5;cursor:pointer;user-select:none}tr.failed td{background:#fdecea}
            td.change-new{color:#2471a3;font-weight:600}td.change-changed{color:#b9770e;font-weight:600}
            td.path{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
            """;

    private static final String JS = """
            (function(){
              var report = JSON.parse(document.getElementById('scan-data').textContent);
              var rows = report.images.map(function(r){
                // distro and version, as the charts say; product names vary too much (Debian's is "12.5")
                var os = (r.operatingSystems||[]).map(function(o){
                  return ((o.distro||o.type||'?') + ' ' + (o.version||'')).trim();}).join('; ');
                var host = (r.operatingSystems||[]).map(function(o){return o.hostname||'';}).filter(Boolean).join('; ');
                return {path:r.path, change:r.change, status:r.status, os:os, hostname:host,
                        packages:(r.packages==null?'':r.packages), size:r.size,
                        reason:r.errorCode ? (r.errorCode + ': ' + (r.errorMessage||'')) : ''};
              });
              var tbody = document.querySelector('#images tbody');
              var keys = ['path','change','status','os','hostname','packages','size','reason'];
              var sortKey = 'path', asc = true;
              function human(n){ if(n<0) return '?'; var u=['B','KiB','MiB','GiB','TiB'],i=0;
                while(n>=1024&&i<u.length-1){n/=1024;i++;} return (i?n.toFixed(1):n)+' '+u[i]; }
              function draw(){
                var q = document.getElementById('filter').value.toLowerCase();
                var shown = rows.filter(function(r){ return !q || keys.some(function(k){
                  return String(r[k]).toLowerCase().indexOf(q) >= 0; }); });
                shown.sort(function(a,b){ var x=a[sortKey], y=b[sortKey];
                  var c = (typeof x==='number'&&typeof y==='number') ? x-y : String(x).localeCompare(String(y));
                  return asc ? c : -c; });
                tbody.textContent = '';
                shown.forEach(function(r){
                  var tr = document.createElement('tr');
                  tr.className = 'image-row' + (r.status === 'SUCCEEDED' ? '' : ' failed');
                  tr.setAttribute('data-status', r.status);
                  keys.forEach(function(k){
                    var td = document.createElement('td');
                    td.className = k + (k==='change' ? ' change-' + r.change : '');
                    td.textContent = k==='size' ? human(r.size) : r[k];
                    tr.appendChild(td);
                  });
                  tbody.appendChild(tr);
                });
                document.body.setAttribute('data-rows', String(shown.length));
              }
              document.getElementById('filter').addEventListener('input', draw);
              document.querySelectorAll('#images th').forEach(function(th){
                th.addEventListener('click', function(){ var k = th.getAttribute('data-key');
                  asc = (k === sortKey) ? !asc : true; sortKey = k; draw(); });
              });
              draw();
              document.body.setAttribute('data-rendered', 'true');
            })();
            """;
}
