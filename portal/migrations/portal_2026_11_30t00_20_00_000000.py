"""Search and sort ignore case and diacritics: "zoe" finds Zoë, "de Boer" sorts among the Bs and Ds, not after "Yilmaz".

The embedded server has no `unaccent`, so `fold_text` is an IMMUTABLE SQL function of our own (lower case, common
Latin diacritics and ligatures folded); the name search vector and a sort index are built on it. The typeahead folds
what was typed with the same function, in the query, so both sides always fold alike."""

from portal.db import sql_migration

ID = "2026-11-30T00:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "case- and diacritic-insensitive patient search and sort"

SQL = """
CREATE OR REPLACE FUNCTION fold_text(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT translate(replace(replace(replace(replace(lower(value), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), 'ĳ', 'ij'),
                     'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšșţťŧțùúûüũūŭůűųŵýÿŷźżž',
                     'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssssttttuuuuuuuuuuwyyyzzz')
$fn$;

DROP INDEX IF EXISTS patient_search_name_idx;
ALTER TABLE patient DROP COLUMN search_name;
ALTER TABLE patient ADD COLUMN search_name tsvector GENERATED ALWAYS AS
    (to_tsvector('simple', fold_text(given_name || ' ' || family_name))) STORED;
CREATE INDEX patient_search_name_idx ON patient USING gin (search_name);
CREATE INDEX patient_clinic_folded_name_idx ON patient (clinic, fold_text(family_name), fold_text(given_name), id);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
