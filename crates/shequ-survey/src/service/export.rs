//! CSV export of a round's responses, paged through the table by response id and streamed in
//! chunks, so memory stays bounded whatever the round's size.

use futures::Stream;

use super::Survey;
use crate::error::{Result, SurveyError};
use crate::model::{Answers, answer_cell};
use crate::names::timestamp;
use crate::store::responses;

/// Responses read per query.
const EXPORT_PAGE: i64 = 500;

/// Fixed columns before one column per question.
pub const FIXED_COLUMNS: [&str; 5] = [
    "response_id",
    "leaf_unit",
    "channel",
    "collect_time",
    "valid",
];

fn csv_error(e: std::io::Error) -> SurveyError {
    SurveyError::Internal(format!("csv: {e}"))
}

impl Survey {
    pub async fn export_responses(
        &self,
        round_id: &str,
    ) -> Result<impl Stream<Item = Result<Vec<u8>>> + Send + 'static> {
        let ctx = self.round_context(round_id).await?;
        let survey = self.clone();
        let round_id = round_id.to_owned();
        let chunk = self.settings.export_chunk_bytes.max(1024);
        Ok(async_stream::try_stream! {
            let question_ids: Vec<String> = ctx.questions.iter().map(|q| q.id.clone()).collect();
            let mut out = ChunkWriter::new();
            out.row(FIXED_COLUMNS.iter().map(|c| c.to_string()).chain(question_ids.iter().cloned()))
                .map_err(csv_error)?;
            let mut after = String::new();
            loop {
                let rows = responses::page(&survey.db.conn, &round_id, &after, EXPORT_PAGE).await?;
                let full = rows.len() as i64 == EXPORT_PAGE;
                for r in &rows {
                    let answers: Answers = serde_json::from_str(&r.answers)
                        .map_err(|e| SurveyError::Internal(format!("stored answers: {e}")))?;
                    let ts = timestamp(r.collect_time);
                    let collect_time = chrono::DateTime::from_timestamp(ts.seconds, ts.nanos as u32)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                        .unwrap_or_default();
                    let mut cells = vec![
                        r.response_id.clone(),
                        shequ_domain::DivisionCode::from_u64(r.leaf_code as u64).map(crate::names::division_name).unwrap_or_default(),
                        r.channel.clone(),
                        collect_time,
                        if r.valid != 0 { "true" } else { "false" }.to_owned(),
                    ];
                    cells.extend(question_ids.iter().map(|q| {
                        answers.iter().find(|(id, _)| id == q).map(|(_, v)| answer_cell(v)).unwrap_or_default()
                    }));
                    out.row(cells).map_err(csv_error)?;
                    if let Some(data) = out.take(chunk) {
                        yield data;
                    }
                }
                match rows.last() {
                    Some(last) if full => after = last.response_id.clone(),
                    _ => break,
                }
            }
            if let Some(data) = out.take(1) {
                yield data;
            }
        })
    }
}

/// A CSV writer over a growing buffer that hands out its bytes in chunks.
struct ChunkWriter(csv::Writer<Vec<u8>>);

impl ChunkWriter {
    fn new() -> Self {
        Self(csv::WriterBuilder::new().from_writer(Vec::new()))
    }

    fn row<I, T>(&mut self, cells: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.0.write_record(cells).map_err(std::io::Error::other)
    }

    /// The bytes written so far once there are at least `min`, leaving the buffer empty.
    fn take(&mut self, min: usize) -> Option<Vec<u8>> {
        self.0.flush().ok()?;
        if self.0.get_ref().len() < min.max(1) {
            return None;
        }
        let full = std::mem::replace(&mut self.0, Self::new().0);
        full.into_inner().ok()
    }
}
