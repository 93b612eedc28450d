//! Where each statement is made: the section of VC DM 2.0 or of VC DM 1.1 that a
//! [`Violation`](super::Violation) names.

use crate::model::DataModel;

/// The topics of the data model's normative statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Contexts,
    UndefinedTerms,
    Identifiers,
    Types,
    Names,
    Language,
    Issuer,
    Subject,
    ValidFrom,
    ValidUntil,
    Status,
    Schemas,
    Presentations,
    Enveloped,
    RelatedResources,
    Refresh,
    TermsOfUse,
    Evidence,
    Reserved,
}

/// The section of `model` that states the rule on `topic`, e.g. `VC DM 2.0 §4.9`. `None`
/// where VC DM 1.1 has no such statement (names, language values, related resources…).
pub fn section(model: DataModel, topic: Topic) -> Option<&'static str> {
    use Topic::*;
    Some(match model {
        DataModel::V2 => match topic {
            Contexts => "VC DM 2.0 §4.3",
            UndefinedTerms => "VC DM 2.0 §5.2.1",
            Identifiers => "VC DM 2.0 §4.4",
            Types => "VC DM 2.0 §4.5",
            Names => "VC DM 2.0 §4.6",
            Language => "VC DM 2.0 §11.1",
            Issuer => "VC DM 2.0 §4.7",
            Subject => "VC DM 2.0 §4.8",
            ValidFrom | ValidUntil => "VC DM 2.0 §4.9",
            Status => "VC DM 2.0 §4.10",
            Schemas => "VC DM 2.0 §4.11",
            Presentations => "VC DM 2.0 §4.13",
            Enveloped => "VC DM 2.0 §4.13.1",
            RelatedResources => "VC DM 2.0 §5.3",
            Refresh => "VC DM 2.0 §5.4",
            TermsOfUse => "VC DM 2.0 §5.5",
            Evidence => "VC DM 2.0 §5.6",
            Reserved => "VC DM 2.0 §5.10",
        },
        DataModel::V1 => match topic {
            Contexts => "VC DM 1.1 §4.1",
            Identifiers => "VC DM 1.1 §4.2",
            Types => "VC DM 1.1 §4.3",
            Subject => "VC DM 1.1 §4.4",
            Issuer => "VC DM 1.1 §4.5",
            ValidFrom => "VC DM 1.1 §4.6",
            ValidUntil => "VC DM 1.1 §4.8",
            Status => "VC DM 1.1 §4.9",
            Presentations => "VC DM 1.1 §4.10",
            Schemas => "VC DM 1.1 §5.4",
            Refresh => "VC DM 1.1 §5.5",
            TermsOfUse => "VC DM 1.1 §5.6",
            Evidence => "VC DM 1.1 §5.7",
            UndefinedTerms | Names | Language | Enveloped | RelatedResources | Reserved => {
                return None
            }
        },
    })
}
