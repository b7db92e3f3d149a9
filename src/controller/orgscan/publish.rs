//! Controller layer: publishing a finished scan's reports — built off the async runtime, then
//! the ConfigMap written and the S3 objects uploaded (with the controller's own credentials).

use super::outputs::{self, ReportData};
use super::{spec, Deps};
use crate::aws::Target;
use crate::controller::Error;
use crate::crd::orgscan::{ReportFormat, ReportLocation};
use crate::crd::OrgRiskScan;
use crate::report::ReportError;

/// Writes the reports the spec asks for. Returns where they are, and the first failure (what was
/// written before it is still named).
pub async fn publish(
    object: &OrgRiskScan,
    deps: &Deps<'_>,
    data: ReportData,
) -> (ReportLocation, Result<(), Error>) {
    let output = &object.spec.output;
    let finished = data.summary.finished_at.clone().unwrap_or_default();
    let keys: Vec<(ReportFormat, String)> = output
        .s3
        .iter()
        .flat_map(|s3| {
            s3.formats
                .iter()
                .map(|f| (*f, outputs::object_key(s3, &data.resource, &finished, *f)))
        })
        .collect();
    let s3_uri = output
        .s3
        .as_ref()
        .zip(keys.first())
        .map(|(s3, (_, key))| format!("s3://{}/{key}", s3.bucket));
    let formats: Vec<ReportFormat> = keys.iter().map(|(f, _)| *f).collect();
    let (with_config_map, uri) = (output.config_map, s3_uri.clone());
    let built = tokio::task::spawn_blocking(move || {
        let built = outputs::build(&data, &formats, with_config_map, uri.as_deref());
        (data, built)
    })
    .await;
    let mut location = ReportLocation::default();
    let (data, built) = match built {
        Ok((data, Ok(built))) => (data, built),
        Ok((_, Err(error))) => return (location, Err(error.into())),
        Err(join) => {
            let error = ReportError::Io(std::io::Error::other(join.to_string()));
            return (location, Err(error.into()));
        }
    };
    if let Some(json) = built.config_map {
        let name = spec::report_config_map(object);
        if let Err(error) = deps.store.put_report(object, &name, json).await {
            return (location, Err(error));
        }
        location.config_map = Some(name);
    }
    let Some(s3) = &output.s3 else {
        return (location, Ok(()));
    };
    let region = s3
        .region
        .clone()
        .unwrap_or_else(|| object.spec.regions[0].clone());
    let store = deps.aws.reports(&Target::region(region)).await;
    for ((format, file), (_, key)) in built.files.iter().zip(&keys) {
        let path = outputs::file_path(file, &data);
        let content_type = outputs::kind(*format).1;
        if let Err(error) = store.put_file(&s3.bucket, key, path, content_type).await {
            return (location, Err(error.into()));
        }
    }
    location.s3_uri = s3_uri;
    (location, Ok(()))
}
