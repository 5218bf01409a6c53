//! Correlation rules (Sigma 2.1): their types, conditions and aliases, and parsing them from
//! a YAML document.

use crate::meta::{ErrorKind, Meta, Origin, PResult, invalid, opt_string, parse_meta, string_list};
use crate::yaml::{Node, Yaml};

/// The seven correlation types of Sigma 2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    /// `event_count`: how many matches.
    EventCount,
    /// `value_count`: how many distinct values of a field.
    ValueCount,
    /// `temporal`: all the rules matched, in any order.
    Temporal,
    /// `temporal_ordered`: all the rules matched, in the order listed.
    TemporalOrdered,
    /// `value_sum`: the sum of a field.
    ValueSum,
    /// `value_avg`: the average of a field.
    ValueAvg,
    /// `value_percentile`: a percentile of a field.
    ValuePercentile,
}

impl CorrelationType {
    /// The type named `s` (`event_count`...).
    pub fn parse(s: &str) -> Option<CorrelationType> {
        Some(match s {
            "event_count" => CorrelationType::EventCount,
            "value_count" => CorrelationType::ValueCount,
            "temporal" => CorrelationType::Temporal,
            "temporal_ordered" => CorrelationType::TemporalOrdered,
            "value_sum" => CorrelationType::ValueSum,
            "value_avg" => CorrelationType::ValueAvg,
            "value_percentile" => CorrelationType::ValuePercentile,
            _ => return None,
        })
    }

    /// The name as rules write it.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
        }
    }

    fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        )
    }
}

/// Comparison operators of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
}

impl CmpOp {
    /// Whether `a op b` holds.
    pub fn test(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Gt => a > b,
            CmpOp::Gte => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Lte => a <= b,
            CmpOp::Eq => a == b,
            CmpOp::Neq => a != b,
        }
    }
}

/// A correlation `condition`: all comparisons must hold.
#[derive(Debug, Clone, Default)]
pub struct CorrCondition {
    /// The comparisons, all of which must hold.
    pub ops: Vec<(CmpOp, f64)>,
    /// The field(s) aggregated by the `value_*` types.
    pub fields: Vec<String>,
    /// For `value_percentile`: which percentile (default 50).
    pub percentile: Option<f64>,
}

/// A group-by alias: one name standing for a different field in each referenced rule.
#[derive(Debug, Clone)]
pub struct Alias {
    /// The alias.
    pub name: String,
    /// (rule id or name, field)
    pub fields: Vec<(String, String)>,
}

/// A correlation rule.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Its descriptive fields.
    pub meta: Meta,
    /// Its type.
    pub kind: CorrelationType,
    /// The ids or names of the rules it correlates.
    pub rules: Vec<String>,
    /// The fields matches are grouped by.
    pub group_by: Vec<String>,
    /// Window length in milliseconds.
    pub timespan_ms: u64,
    /// When it fires.
    pub condition: CorrCondition,
    /// Group-by names standing for different fields per rule.
    pub aliases: Vec<Alias>,
    /// Whether the correlated rules' own detections are reported too.
    pub generate: bool,
    /// Group-by names compared as the person an account belongs to (dwell's extension,
    /// `dwell: {person: [...]}`): `NORTHGATE\j.doe`, `j.doe@northgate.example` and
    /// `CN=j.doe,OU=...` are one group.
    pub persons: Vec<String>,
    /// Where it came from.
    pub origin: Origin,
    /// Things that load but deserve a word.
    pub warnings: Vec<String>,
}

/// Parses `<int><unit>` with units s, m, h, d (and w for weeks) into milliseconds.
pub fn parse_timespan(s: &str) -> Option<u64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let mult = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(mult).filter(|v| *v > 0)
}

pub(crate) fn parse_correlation(node: &Node, origin: Origin) -> PResult<Correlation> {
    let meta = parse_meta(node)?;
    let c = node.get("correlation").unwrap();
    if !matches!(c.value, Yaml::Map(_)) {
        return invalid("'correlation' must be a map");
    }
    let mut warnings = Vec::new();
    let kind_text = opt_string(c, "type")?.ok_or((
        ErrorKind::Invalid,
        "the correlation has no 'type'".to_string(),
    ))?;
    let kind = CorrelationType::parse(&kind_text).ok_or((
        ErrorKind::Invalid,
        format!("unknown correlation type '{kind_text}'"),
    ))?;
    let rules = string_list(c, "rules")?;
    if rules.is_empty() {
        return invalid("the correlation lists no 'rules'");
    }
    let group_by = string_list(c, "group-by")?;
    if group_by.is_empty() {
        warnings.push("no 'group-by': all matching events form one group".into());
    }
    let ts = opt_string(c, "timespan")?.ok_or((
        ErrorKind::Invalid,
        "the correlation has no 'timespan'".to_string(),
    ))?;
    let timespan_ms = parse_timespan(&ts).ok_or((
        ErrorKind::Invalid,
        format!("timespan '{ts}' is not <number><s|m|h|d|w>"),
    ))?;
    let mut condition = CorrCondition::default();
    match c.get("condition") {
        None => {
            if !matches!(
                kind,
                CorrelationType::Temporal | CorrelationType::TemporalOrdered
            ) {
                return invalid("the correlation has no 'condition'");
            }
        }
        Some(cn) => {
            let Yaml::Map(entries) = &cn.value else {
                return invalid("the correlation 'condition' must be a map such as {gte: 5}");
            };
            for (k, v) in entries {
                let key = k.scalar_text().unwrap_or_default();
                let op = match key.as_str() {
                    "gt" => CmpOp::Gt,
                    "gte" => CmpOp::Gte,
                    "lt" => CmpOp::Lt,
                    "lte" => CmpOp::Lte,
                    "eq" => CmpOp::Eq,
                    "neq" => CmpOp::Neq,
                    "field" => {
                        condition.fields = match &v.value {
                            Yaml::Seq(items) => {
                                items.iter().filter_map(|i| i.scalar_text()).collect()
                            }
                            _ => v.scalar_text().into_iter().collect(),
                        };
                        continue;
                    }
                    "percentile" => {
                        condition.percentile = match v.value {
                            Yaml::Int(i) => Some(i as f64),
                            Yaml::Float(f) => Some(f),
                            _ => return invalid("'percentile' must be a number"),
                        };
                        continue;
                    }
                    other => return invalid(format!("unknown correlation condition '{other}'")),
                };
                let n = match v.value {
                    Yaml::Int(i) => i as f64,
                    Yaml::Float(f) => f,
                    _ => return invalid(format!("condition '{key}' needs a number")),
                };
                condition.ops.push((op, n));
            }
            if condition.ops.is_empty() {
                return invalid(
                    "the correlation condition has no comparison (gt, gte, lt, lte, eq, neq)",
                );
            }
        }
    }
    if kind.needs_field() && condition.fields.is_empty() {
        return invalid(format!(
            "a {} correlation needs 'condition.field'",
            kind.as_str()
        ));
    }
    let mut aliases = Vec::new();
    if let Some(a) = c.get("aliases") {
        let Yaml::Map(entries) = &a.value else {
            return invalid("'aliases' must map alias names to {rule: field}");
        };
        for (k, v) in entries {
            let Yaml::Map(m) = &v.value else {
                return invalid("each alias maps rule names to fields");
            };
            aliases.push(Alias {
                name: k.scalar_text().unwrap_or_default(),
                fields: m
                    .iter()
                    .map(|(r, f)| {
                        (
                            r.scalar_text().unwrap_or_default(),
                            f.scalar_text().unwrap_or_default(),
                        )
                    })
                    .collect(),
            });
        }
    }
    let generate = match node.get("generate").or_else(|| c.get("generate")) {
        None => false,
        Some(n) => match n.value {
            Yaml::Bool(b) => b,
            _ => return invalid("'generate' must be true or false"),
        },
    };
    let persons = match node.get("dwell") {
        Some(x) => crate::extension::parse_persons(x, &group_by)?,
        None => Vec::new(),
    };
    Ok(Correlation {
        meta,
        kind,
        rules,
        group_by,
        timespan_ms,
        condition,
        aliases,
        generate,
        persons,
        origin,
        warnings,
    })
}
