package io.havm.http;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.function.Function;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real browser for the dashboard's tests: Debian's headless Chromium driven through its
 * chromedriver (both installed by ci/install-deps; Selenium Manager is never asked to download
 * anything). Runs as root, so without Chromium's sandbox, with a profile of its own that is removed
 * on close. Certificates are accepted as the test's own CA made them: the lab's agents serve TLS
 * with a certificate the browser has no reason to know.
 */
public final class Browser implements AutoCloseable {
    public final ChromeDriver driver;
    private final Path profile;

    public Browser() throws IOException {
        profile = Files.createTempDirectory("havm-browser");
        ChromeOptions o = new ChromeOptions();
        o.setBinary("/usr/bin/chromium");
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--user-data-dir=" + profile);
        o.setAcceptInsecureCerts(true);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new java.io.File("/usr/bin/chromedriver")).usingAnyFreePort().build();
        driver = new ChromeDriver(service, o);
    }

    /** Waits (polling, up to {@code within}) until {@code condition} gives a non-null, non-false value. */
    public <T> T until(Duration within, Function<WebDriver, T> condition) {
        // the page redraws what changed: an element found a moment ago may be gone by now; look again
        return new WebDriverWait(driver, within, Duration.ofMillis(100))
                .ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(condition);
    }

    /** On the dashboard's sign-in form: gives {@code token} and waits for the cluster's page. */
    public void signIn(String token) {
        until(Duration.ofSeconds(15), d -> d.findElement(org.openqa.selenium.By.id("login")).isDisplayed());
        driver.findElement(org.openqa.selenium.By.id("token")).sendKeys(token);
        driver.findElement(org.openqa.selenium.By.cssSelector("#login-form button")).click();
        until(Duration.ofSeconds(15), d -> d.findElement(org.openqa.selenium.By.id("main")).isDisplayed());
    }

    /** The host the dashboard shows {@code group} running on ("–": none), or null: no such row. */
    public String owner(String group) {
        // read in one script: the row may be redrawn between finding the cell and reading it
        return (String) driver.executeScript("const c = document.querySelector(\"#groups tr[data-group='\" + arguments[0]"
                + " + \"'] .owner\"); return c ? c.textContent : null;", group);
    }

    /** The page as it looks now, as a PNG file. */
    public Path screenshot(Path png) throws IOException {
        Files.createDirectories(png.toAbsolutePath().getParent());
        Files.write(png, driver.getScreenshotAs(OutputType.BYTES));
        return png;
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            try (var s = Files.walk(profile)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                // the temporary profile stays behind; nothing else depends on it
            }
        }
    }
}
