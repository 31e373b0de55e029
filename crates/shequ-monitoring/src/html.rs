//! The HTML report: one self-contained page (inline CSS and SVG, no script, no external
//! resource) with a status board of the plan's indicators, a bar chart per indicator across the
//! regions one level down with the target and expected value drawn, and the lagging regions.
//! Every string from the data is escaped.

use std::fmt::Write as _;

use shequ_domain::Status;

/// Everything the page shows; built by the service from a stored evaluation.
#[derive(Debug, Clone)]
pub struct HtmlReport {
    pub plan_id: String,
    pub plan_name: String,
    /// `plans/{id}/evaluations/{id}`
    pub evaluation: String,
    pub evaluation_date: String,
    /// RFC 3339, UTC.
    pub create_time: String,
    pub registry_vintage: String,
    pub registry_cursor: String,
    /// `rounds/{id}`; empty when none was read.
    pub survey_round: String,
    pub leaf_units: i64,
    /// The division reported on: its name (or 全国) and code (empty for the country).
    pub region_name: String,
    pub region_code: String,
    /// How many lagging regions to list per indicator.
    pub worst: usize,
    pub indicators: Vec<IndicatorPanel>,
}

/// One indicator: its value for the division and for each region one level down.
#[derive(Debug, Clone)]
pub struct IndicatorPanel {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub lower_is_better: bool,
    pub value: Option<f64>,
    pub expected: Option<f64>,
    pub target: Option<f64>,
    /// `None`: the plan sets no target.
    pub status: Option<Status>,
    /// The summed parts behind a ratio, share or mean.
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// The data's time (UTC, to the minute); empty when unknown.
    pub as_of: String,
    /// The periods of the reported values used.
    pub periods: Vec<String>,
    /// How the status was judged, as the page says it (empty without a target), and why it is
    /// undetermined or that the value moved away from the target (empty otherwise).
    pub method: String,
    pub note: String,
    /// The region whose own target is in force (an override); empty for the plan's target.
    pub target_source: String,
    /// The milestones of the target in force: year and value, as the page shows them.
    pub milestones: Vec<(i32, String)>,
    /// Regions one level down, by code.
    pub regions: Vec<RegionValue>,
}

#[derive(Debug, Clone)]
pub struct RegionValue {
    pub name: String,
    pub code: String,
    pub value: Option<f64>,
    pub status: Option<Status>,
    /// How far the value falls short of the expected value (larger is worse); `None` for no
    /// data.
    pub gap: Option<f64>,
    /// The region's target, drawn on its own row where it differs from the panel's.
    pub target: Option<f64>,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The status's CSS class and its label on the page.
fn status_look(s: Option<Status>) -> (&'static str, &'static str) {
    match s {
        Some(Status::Achieved) => ("achieved", "已达标"),
        Some(Status::OnTrack) => ("on_track", "进度正常"),
        Some(Status::Lagging) => ("lagging", "滞后"),
        Some(Status::OffTrack) => ("off_track", "严重滞后"),
        Some(Status::NoData) => ("no_data", "无数据"),
        Some(Status::Undetermined) => ("undetermined", "无法判定"),
        None => ("no_target", "未设目标"),
    }
}

/// A value in its unit: shares as percentages, people as whole numbers with separators.
pub fn format_value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else {
        return "—".to_owned();
    };
    match unit {
        "share" => format!("{:.1}%", v * 100.0),
        _ if v.fract() == 0.0 && v.abs() < 1e15 => group_thousands(v as i64),
        _ => format!("{v:.2}"),
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn unit_label(unit: &str) -> &str {
    match unit {
        "share" => "%",
        "people" => "人",
        "score" => "分",
        "days" => "天",
        other => other,
    }
}

const STYLE: &str = r#"
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--card:#fff;
--achieved:#1a7f37;--on_track:#0969da;--lagging:#bf8700;--off_track:#cf222e;--no_data:#8c959f;--no_target:#6e7781}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font-family:"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
font-size:14px;line-height:1.5}
main{max-width:1180px;margin:0 auto;padding:24px}
header.top{background:#0b3b66;color:#fff;padding:22px 24px 18px}
header.top .inner{max-width:1180px;margin:0 auto}
header.top h1{margin:0 0 4px;font-size:24px;font-weight:600}
header.top .sub{opacity:.9;font-size:15px}
dl.prov{display:flex;flex-wrap:wrap;gap:4px 22px;margin:12px 0 0;font-size:12.5px;opacity:.92}
dl.prov div{display:flex;gap:6px}dl.prov dt{opacity:.75}dl.prov dd{margin:0;font-family:ui-monospace,Menlo,Consolas,monospace}
h2{font-size:18px;margin:28px 0 12px;font-weight:600}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:4px 0 8px}
.pill{display:inline-flex;align-items:center;gap:6px;padding:3px 10px;border-radius:999px;background:var(--card);border:1px solid var(--line);font-size:13px}
.dot{width:10px;height:10px;border-radius:50%;display:inline-block;background:var(--c)}
.board{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--c);border-radius:8px;padding:12px 14px}
.card .name{font-weight:600;font-size:14.5px}
.card .code{color:var(--muted);font-size:11.5px;font-family:ui-monospace,Menlo,Consolas,monospace}
.card .value{font-size:28px;font-weight:600;margin:6px 0 2px;color:var(--c)}
.card .value small{font-size:13px;color:var(--muted);font-weight:400;margin-left:4px}
.card .meta{color:var(--muted);font-size:12.5px}
.chip{display:inline-block;padding:1px 9px;border-radius:999px;color:#fff;background:var(--c);font-size:12px;font-weight:600}
.progress{height:6px;background:#eaeef2;border-radius:3px;margin:8px 0 6px;position:relative}
.progress span{position:absolute;left:0;top:0;bottom:0;border-radius:3px;background:var(--c)}
.progress i{position:absolute;top:-3px;bottom:-3px;width:2px;background:var(--ink)}
.achieved{--c:var(--achieved)}.on_track{--c:var(--on_track)}.lagging{--c:var(--lagging)}
.off_track{--c:var(--off_track)}.no_data{--c:var(--no_data)}.no_target{--c:var(--no_target)}.undetermined{--c:var(--no_target)}
section.ind{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:0 0 14px;break-inside:avoid}
section.ind h3{margin:0;font-size:16px;display:flex;flex-wrap:wrap;align-items:center;gap:10px}
section.ind .facts{color:var(--muted);font-size:12.5px;margin:2px 0 8px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin:4px 0}
.legend svg{vertical-align:middle}
svg.chart text{font-size:12px;fill:var(--ink)}
svg.chart .axis{fill:var(--muted);font-size:11px}
table{border-collapse:collapse;width:100%;background:var(--card);font-size:13px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left}
th{background:#eef1f4;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.empty{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:12px;margin:24px 0 8px}
@media print{body{background:#fff}header.top{background:#fff;color:var(--ink);border-bottom:2px solid var(--ink)}section.ind,.card{break-inside:avoid}}
"#;

impl HtmlReport {
    /// The whole page.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024 + self.indicators.len() * 8 * 1024);
        let region = if self.region_code.is_empty() {
            escape(&self.region_name)
        } else {
            format!(
                "{} <span style=\"opacity:.7\">{}</span>",
                escape(&self.region_name),
                escape(&self.region_code)
            )
        };
        let _ = writeln!(
            out,
            "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{} · {} · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
            escape(&self.plan_name),
            escape(&self.region_name),
            escape(&self.evaluation_date),
        );
        let _ = write!(
            out,
            "<header class=\"top\"><div class=\"inner\">\
             <h1>{}</h1><div class=\"sub\">{region} · 监测日期 {}</div><dl class=\"prov\">",
            escape(&self.plan_name),
            escape(&self.evaluation_date),
        );
        let survey = if self.survey_round.is_empty() {
            "—".to_owned()
        } else {
            self.survey_round.clone()
        };
        for (label, value) in [
            ("规划", format!("plans/{}", self.plan_id)),
            ("评估", self.evaluation.clone()),
            ("计算时间", self.create_time.clone()),
            ("区划数据版本", self.registry_vintage.clone()),
            ("设施变更游标", self.registry_cursor.clone()),
            ("满意度调查", survey),
            ("村(社区)数", group_thousands(self.leaf_units)),
        ] {
            let _ = write!(
                out,
                "<div><dt>{label}</dt><dd>{}</dd></div>",
                escape(&value)
            );
        }
        out.push_str("</dl></div></header>\n<main>\n");

        self.summary(&mut out);
        out.push_str("<h2>指标状态</h2>\n<div class=\"board\">\n");
        for panel in &self.indicators {
            panel.card(&mut out);
        }
        out.push_str("</div>\n");

        out.push_str("<h2>下一级地区</h2>\n");
        for panel in &self.indicators {
            panel.chart_section(&mut out);
        }

        out.push_str("<h2>滞后地区(差距最大者在前)</h2>\n");
        self.lagging_table(&mut out);

        let _ = writeln!(
            out,
            "<footer>进度按规划基期至目标年的线性轨迹计算;差距 = 期望值与实际值之差(按指标方向)。\
             {}</footer>\n</main>\n</body>\n</html>",
            escape(&self.evaluation)
        );
        out
    }

    fn summary(&self, out: &mut String) {
        let statuses = [
            Some(Status::Achieved),
            Some(Status::OnTrack),
            Some(Status::Lagging),
            Some(Status::OffTrack),
            Some(Status::NoData),
            None,
        ];
        out.push_str("<div class=\"summary\">");
        for s in statuses {
            let n = self.indicators.iter().filter(|p| p.status == s).count();
            if n > 0 {
                let (class, label) = status_look(s);
                let _ = write!(
                    out,
                    "<span class=\"pill {class}\"><span class=\"dot\"></span>{label} {n}</span>"
                );
            }
        }
        out.push_str("</div>\n");
    }

    fn lagging_table(&self, out: &mut String) {
        let mut rows = String::new();
        for p in &self.indicators {
            let mut lagging: Vec<&RegionValue> = p
                .regions
                .iter()
                .filter(|r| r.gap.is_some_and(|g| g > 0.0))
                .collect();
            lagging.sort_by(|a, b| {
                b.gap
                    .unwrap_or(0.0)
                    .total_cmp(&a.gap.unwrap_or(0.0))
                    .then(a.code.cmp(&b.code))
            });
            for (i, r) in lagging.iter().take(self.worst).enumerate() {
                let (class, label) = status_look(r.status);
                let indicator = if i == 0 {
                    format!(
                        "<td rowspan=\"{}\"><b>{}</b><br><span class=\"code\">{}</span></td>",
                        lagging.len().min(self.worst),
                        escape(&p.name),
                        escape(&p.code)
                    )
                } else {
                    String::new()
                };
                let _ = writeln!(
                    rows,
                    "<tr>{indicator}<td>{} <span class=\"code\">{}</span></td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td><span class=\"chip {class}\">{label}</span></td></tr>",
                    escape(&r.name),
                    escape(&r.code),
                    format_value(r.value, &p.unit),
                    format_value(p.expected, &p.unit),
                    format_gap(r.gap, &p.unit),
                );
            }
        }
        if rows.is_empty() {
            out.push_str("<p class=\"empty\">没有低于期望值的下一级地区。</p>\n");
        } else {
            let _ = writeln!(
                out,
                "<table class=\"lagging\"><thead><tr><th>指标</th><th>地区</th>\
                 <th class=\"num\">实际值</th><th class=\"num\">期望值</th>\
                 <th class=\"num\">差距</th><th>状态</th></tr></thead><tbody>\n{rows}\
                 </tbody></table>"
            );
        }
    }
}

fn format_gap(gap: Option<f64>, unit: &str) -> String {
    match (gap, unit) {
        (None, _) => "—".to_owned(),
        (Some(g), "share") => format!("{:.1} 个百分点", g * 100.0),
        (Some(g), _) => format!("{g:.2}"),
    }
}

impl IndicatorPanel {
    fn card(&self, out: &mut String) {
        let (class, label) = status_look(self.status);
        let _ = write!(
            out,
            "<div class=\"card {class}\" data-indicator=\"{code}\"><div class=\"name\">{name}</div>\
             <div class=\"code\">{code}</div><div class=\"value\">{value}<small>{unit}</small></div>",
            code = escape(&self.code),
            name = escape(&self.name),
            value = format_value(self.value, &self.unit),
            unit = if self.value.is_some() {
                escape(unit_label(&self.unit))
            } else {
                String::new()
            },
        );
        if let (Some(target), Some(value)) = (self.target, self.value) {
            // Progress towards the target on the indicator's own scale.
            let top = target.max(value).max(self.expected.unwrap_or(0.0));
            if top > 0.0 {
                let fill = (value / top).clamp(0.0, 1.0) * 100.0;
                let mark = (target / top).clamp(0.0, 1.0) * 100.0;
                let _ = write!(
                    out,
                    "<div class=\"progress\"><span style=\"width:{fill:.1}%\"></span>\
                     <i style=\"left:calc({mark:.1}% - 1px)\"></i></div>"
                );
            }
        }
        let _ = write!(
            out,
            "<div class=\"meta\"><span class=\"chip\">{label}</span> 期望值 {} · 目标 {}{}</div>",
            format_value(self.expected, &self.unit),
            format_value(self.target, &self.unit),
            if self.lower_is_better {
                " · 越低越好"
            } else {
                ""
            },
        );
        if !self.method.is_empty() || !self.target_source.is_empty() {
            let source = if self.target_source.is_empty() {
                String::new()
            } else {
                format!(" · 本地区目标({})", escape(&self.target_source))
            };
            let _ = write!(
                out,
                "<div class=\"meta method\">{}{source}</div>",
                escape(&self.method)
            );
        }
        if !self.milestones.is_empty() {
            let points: Vec<String> = self
                .milestones
                .iter()
                .map(|(year, value)| format!("{year} 年 {}", escape(value)))
                .collect();
            let _ = write!(
                out,
                "<div class=\"meta milestones\">里程碑 {}</div>",
                points.join(" · ")
            );
        }
        if !self.note.is_empty() {
            let _ = write!(out, "<div class=\"meta note\">{}</div>", escape(&self.note));
        }
        if let (Some(n), Some(d)) = (self.numerator, self.denominator) {
            let _ = write!(
                out,
                "<div class=\"meta parts\">分子 {} / 分母 {}</div>",
                format_value(Some(n), ""),
                format_value(Some(d), ""),
            );
        }
        if !self.as_of.is_empty() {
            let periods = if self.periods.is_empty() {
                String::new()
            } else {
                format!(" · 报告期 {}", escape(&self.periods.join(", ")))
            };
            let _ = write!(
                out,
                "<div class=\"meta as-of\">数据截至 {}{periods}</div>",
                escape(&self.as_of),
            );
        }
        out.push_str("</div>\n");
    }

    fn chart_section(&self, out: &mut String) {
        let (class, label) = status_look(self.status);
        let _ = writeln!(
            out,
            "<section class=\"ind {class}\" data-indicator=\"{code}\"><h3>{name} \
             <span class=\"chip\">{label}</span></h3><div class=\"facts\">{code} · 本级 {value} · \
             期望值 {expected} · 目标 {target} · 单位 {unit}</div>",
            code = escape(&self.code),
            name = escape(&self.name),
            value = format_value(self.value, &self.unit),
            expected = format_value(self.expected, &self.unit),
            target = format_value(self.target, &self.unit),
            unit = escape(unit_label(&self.unit)),
        );
        if self.regions.is_empty() {
            out.push_str("<p class=\"empty\">没有下一级地区。</p></section>\n");
            return;
        }
        out.push_str("<div class=\"legend\">");
        for s in [
            Some(Status::Achieved),
            Some(Status::OnTrack),
            Some(Status::Lagging),
            Some(Status::OffTrack),
        ] {
            if self.status.is_some() {
                let (c, l) = status_look(s);
                let _ = write!(
                    out,
                    "<span class=\"{c}\"><span class=\"dot\"></span> {l}</span>"
                );
            }
        }
        if self.target.is_some() {
            out.push_str(
                "<span><svg width=\"22\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"22\" y2=\"5\" \
                 stroke=\"#1f2328\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/></svg> 目标</span>\
                 <span><svg width=\"22\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"22\" y2=\"5\" \
                 stroke=\"#8250df\" stroke-width=\"2\"/></svg> 期望值</span>",
            );
        }
        out.push_str("</div>\n");
        self.bar_chart(out);
        out.push_str("</section>\n");
    }

    /// Horizontal bars, one per region, with the target (dashed) and the expected value (solid)
    /// as vertical lines. A bar's value label follows the bar, or the line it would otherwise
    /// cross.
    fn bar_chart(&self, out: &mut String) {
        const LABEL: f64 = 190.0;
        const PLOT: f64 = 760.0;
        const VALUE: f64 = 90.0;
        const ROW: f64 = 22.0;
        const TOP: f64 = 22.0;
        let width = LABEL + PLOT + VALUE;
        let height = TOP + ROW * self.regions.len() as f64 + 8.0;
        let mut top = self
            .regions
            .iter()
            .filter_map(|r| r.value)
            .chain(self.regions.iter().filter_map(|r| r.target))
            .chain(self.target)
            .chain(self.expected)
            .fold(0.0_f64, f64::max);
        if self.unit == "share" {
            top = top.max(1.0);
        }
        if top <= 0.0 {
            top = 1.0;
        }
        let x = |v: f64| LABEL + (v.max(0.0) / top).min(1.0) * PLOT;
        // The vertical lines every row's value label must keep clear of.
        let lines: Vec<f64> = self
            .target
            .iter()
            .chain(&self.expected)
            .map(|&v| x(v))
            .collect();
        let _ = write!(
            out,
            "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"100%\" \
             preserveAspectRatio=\"xMinYMin meet\" aria-label=\"{}\">",
            escape(&self.name)
        );
        // Gridlines at quarters of the scale.
        for q in 0..=4 {
            let v = top * f64::from(q) / 4.0;
            let gx = x(v);
            let _ = write!(
                out,
                "<line x1=\"{gx:.1}\" y1=\"{TOP}\" x2=\"{gx:.1}\" y2=\"{:.1}\" stroke=\"#eaeef2\"/>\
                 <text class=\"axis\" x=\"{gx:.1}\" y=\"14\" text-anchor=\"middle\">{}</text>",
                height - 8.0,
                escape(&format_value(Some(v), &self.unit)),
            );
        }
        for (i, r) in self.regions.iter().enumerate() {
            let y = TOP + ROW * i as f64;
            let (class, _) = status_look(r.status);
            let _ = write!(
                out,
                "<g class=\"{class}\"><title>{name} {code}: {value}</title>\
                 <text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{short}</text>",
                name = escape(&r.name),
                code = escape(&r.code),
                value = format_value(r.value, &self.unit),
                lx = LABEL - 8.0,
                ty = y + 15.0,
                short = escape(&truncate(&r.name, 14)),
            );
            // A region with a target of its own gets it drawn across its row.
            let own = r.target.filter(|t| Some(*t) != self.target);
            let mut row_lines = lines.clone();
            if let Some(t) = own {
                let tx = x(t);
                row_lines.push(tx);
                let _ = write!(
                    out,
                    "<line class=\"own-target\" x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" \
                     y2=\"{:.1}\" stroke=\"#1f2328\" stroke-width=\"2\" stroke-dasharray=\"3 2\">\
                     <title>本地区目标 {}</title></line>",
                    y + 1.0,
                    y + 20.0,
                    format_value(Some(t), &self.unit)
                );
            }
            let lines = &row_lines;
            match r.value {
                Some(v) => {
                    let w = (x(v) - LABEL).max(if v > 0.0 { 1.5 } else { 0.0 });
                    let text = format_value(Some(v), &self.unit);
                    let _ = write!(
                        out,
                        "<rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"15\" rx=\"2\" \
                         style=\"fill:var(--c)\"/><text x=\"{:.1}\" y=\"{:.1}\">{text}</text>",
                        y + 3.0,
                        label_x(LABEL + w + 6.0, label_width(&text), lines),
                        y + 15.0,
                    );
                }
                None => {
                    let _ = write!(
                        out,
                        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\">无数据</text>",
                        label_x(LABEL + 6.0, label_width("无数据"), lines),
                        y + 15.0
                    );
                }
            }
            out.push_str("</g>");
        }
        let bottom = height - 8.0;
        if let Some(e) = self.expected {
            let ex = x(e);
            let _ = write!(
                out,
                "<line x1=\"{ex:.1}\" y1=\"{TOP}\" x2=\"{ex:.1}\" y2=\"{bottom:.1}\" \
                 stroke=\"#8250df\" stroke-width=\"2\"><title>期望值 {}</title></line>",
                format_value(Some(e), &self.unit)
            );
        }
        if let Some(t) = self.target {
            let tx = x(t);
            let _ = write!(
                out,
                "<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{bottom:.1}\" \
                 stroke=\"#1f2328\" stroke-width=\"2\" stroke-dasharray=\"5 3\"><title>目标 {}</title></line>",
                format_value(Some(t), &self.unit)
            );
        }
        out.push_str("</svg>\n");
    }
}

/// Room around a vertical line that a label leaves free, in chart units.
const LINE_CLEARANCE: f64 = 4.0;

/// Where a label of `width` meant to start at `start` starts so that it crosses none of the
/// vertical `lines`: at `start`, or just right of the last line it would have crossed. (The
/// chart keeps `VALUE` units right of the plot for it.)
fn label_x(start: f64, width: f64, lines: &[f64]) -> f64 {
    let mut lines = lines.to_vec();
    lines.sort_by(f64::total_cmp);
    lines.into_iter().fold(start, |x, line| {
        if line > x - LINE_CLEARANCE && line < x + width + LINE_CLEARANCE {
            line + LINE_CLEARANCE + 2.0
        } else {
            x
        }
    })
}

/// A generous estimate of a 12 px label's width in chart units: Latin characters at most 7.5
/// (digits are about 6.6 in the CJK fonts of the stack), wide characters 12.
fn label_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 7.5 } else { 12.0 })
        .sum()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str) -> HtmlReport {
        HtmlReport {
            plan_id: "national".into(),
            plan_name: name.into(),
            evaluation: "plans/national/evaluations/e1".into(),
            evaluation_date: "2023-12-31".into(),
            create_time: "2024-01-01T00:00:00Z".into(),
            registry_vintage: "2023".into(),
            registry_cursor: "42".into(),
            survey_round: String::new(),
            leaf_units: 1234,
            region_name: "仙桃市".into(),
            region_code: "429004".into(),
            worst: 2,
            indicators: vec![IndicatorPanel {
                code: "rural_facility_coverage".into(),
                name: "农村社区<b>覆盖率</b>".into(),
                unit: "share".into(),
                lower_is_better: false,
                value: Some(0.4),
                expected: Some(0.8),
                target: Some(1.0),
                status: Some(Status::OffTrack),
                numerator: Some(2.0),
                denominator: Some(5.0),
                as_of: "2025-06-30 08:00".into(),
                periods: vec!["2025-Q2<".into()],
                method: "线性".into(),
                note: "moved <away>".into(),
                target_source: "仙桃市".into(),
                milestones: vec![(2023, "80.0%".into())],
                regions: vec![
                    RegionValue {
                        name: "杜湖街道".into(),
                        code: "429004004".into(),
                        value: Some(0.4),
                        status: Some(Status::OffTrack),
                        gap: Some(0.4),
                        target: Some(0.5),
                    },
                    RegionValue {
                        name: "\"><script>alert(1)</script>".into(),
                        code: "429004005".into(),
                        value: Some(0.0),
                        status: Some(Status::OffTrack),
                        gap: Some(0.8),
                        target: None,
                    },
                    RegionValue {
                        name: "沔城".into(),
                        code: "429004006".into(),
                        value: None,
                        status: Some(Status::NoData),
                        gap: None,
                        target: None,
                    },
                ],
            }],
        }
    }

    #[test]
    fn data_is_escaped_and_nothing_is_loaded_from_outside() {
        let html = report("规划 & <i>").render();
        assert!(html.contains("规划 &amp; &lt;i&gt;"));
        assert!(html.contains("农村社区&lt;b&gt;覆盖率&lt;/b&gt;"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<b>覆盖率"));
        for external in ["src=", "href=", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
    }

    #[test]
    fn lagging_regions_come_worst_first_and_are_capped() {
        let html = report("p").render();
        let table = &html[html.find("<table class=\"lagging\">").unwrap()..];
        let worst = table.find("429004005").unwrap();
        let next = table.find("429004004").unwrap();
        assert!(worst < next);
        assert!(!table.contains("429004006"), "no data is not lagging");
        assert!(table.contains("80.0 个百分点"));
    }

    /// Each value label of the charts as drawn: (x, text).
    fn value_labels(html: &str) -> Vec<(f64, String)> {
        html.split("style=\"fill:var(--c)\"/><text x=\"")
            .skip(1)
            .map(|rest| {
                let x = rest[..rest.find('"').unwrap()].parse().unwrap();
                let text = &rest[rest.find('>').unwrap() + 1..rest.find("</text>").unwrap()];
                (x, text.to_owned())
            })
            .collect()
    }

    /// A region with a target of its own has it drawn across its row, and the card names the
    /// method, the override in force and the note, escaped.
    #[test]
    fn own_targets_methods_and_notes_are_shown() {
        let html = report("p").render();
        let own = 190.0 + 0.5 * 760.0;
        assert!(html.contains(&format!("<line class=\"own-target\" x1=\"{own:.1}\"")));
        assert_eq!(html.matches("class=\"own-target\"").count(), 1);
        assert!(html.contains("线性 · 本地区目标(仙桃市)"));
        assert!(html.contains("moved &lt;away&gt;"));
        assert!(html.contains("里程碑 2023 年 80.0%"));
    }

    /// Labels of bars ending near the target (dashed) or the expected value (solid) are placed
    /// clear of both lines, never across them.
    #[test]
    fn value_labels_never_cross_the_target_or_expected_line() {
        let mut r = report("p");
        let panel = &mut r.indicators[0];
        panel.expected = Some(0.8);
        panel.target = Some(1.0);
        let values = [0.5, 0.76, 0.78, 0.8, 0.83, 0.93, 0.95, 0.97, 0.99, 1.0];
        panel.regions = values
            .iter()
            .enumerate()
            .map(|(i, &v)| RegionValue {
                name: format!("区域{i}"),
                code: format!("42900400{i}"),
                value: Some(v),
                status: Some(Status::OnTrack),
                gap: Some(0.0),
                target: None,
            })
            .collect();
        let html = r.render();
        let labels = value_labels(&html);
        assert_eq!(labels.len(), values.len());
        // The share scale runs 0 to 100 % over the 760 units right of the 190 of names.
        let (target, expected) = (190.0 + 760.0, 190.0 + 0.8 * 760.0);
        assert!(html.contains(&format!("<line x1=\"{target:.1}\"")));
        assert!(html.contains(&format!("<line x1=\"{expected:.1}\"")));
        for ((x, text), v) in labels.iter().zip(values) {
            let bar_end = 190.0 + v * 760.0;
            assert!(*x > bar_end, "{text} starts on its bar");
            let end = x + label_width(text);
            for line in [target, expected] {
                assert!(
                    end + LINE_CLEARANCE <= line || *x - LINE_CLEARANCE >= line,
                    "{text} at {x:.1}..{end:.1} crosses the line at {line:.1}"
                );
            }
            assert!(end <= 190.0 + 760.0 + 90.0, "{text} leaves the chart");
        }
        // A label with room before the line stays next to its bar.
        assert_eq!(labels[0], (190.0 + 0.5 * 760.0 + 6.0, "50.0%".to_owned()));
    }

    #[test]
    fn a_label_moves_past_every_line_it_would_cross() {
        assert_eq!(label_x(100.0, 40.0, &[]), 100.0);
        assert_eq!(label_x(100.0, 40.0, &[90.0, 150.0]), 100.0);
        assert_eq!(label_x(100.0, 40.0, &[120.0]), 126.0);
        // Past the first line the label would cross the second one too.
        assert_eq!(label_x(100.0, 40.0, &[150.0, 120.0]), 156.0);
    }

    #[test]
    fn a_card_shows_the_parts_the_time_and_the_periods() {
        let html = report("x").render();
        assert!(html.contains("分子 2 / 分母 5"), "{html}");
        assert!(html.contains("数据截至 2025-06-30 08:00 · 报告期 2025-Q2&lt;"));
    }

    #[test]
    fn values_are_shown_in_their_units() {
        assert_eq!(format_value(Some(0.4567), "share"), "45.7%");
        assert_eq!(format_value(Some(1_234_567.0), "people"), "1,234,567");
        assert_eq!(format_value(Some(-1000.0), "people"), "-1,000");
        assert_eq!(format_value(Some(4.25), "score"), "4.25");
        assert_eq!(format_value(None, "share"), "—");
    }
}
