package feedback.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.fa.PersianAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * {@code feedback_persian}: Lucene's PersianAnalyzer. ZWNJ becomes a word break (so the
 * plural {@code ها} and the verb prefix {@code می} split off and, being stopwords, drop
 * out), Arabic and Persian letter variants and digits are folded, Persian stopwords are
 * removed and PersianStemFilter strips the suffixes ات, ان, ترین, تر, یی, ی and ها.
 */
@NamedComponent("feedback_persian")
public final class PersianAnalyzerFactory implements AnalyzerFactory {
    @Override
    public Analyzer create() {
        return new PersianAnalyzer();
    }
}
